/**
 * Dependency checks for `/health` (liveness: the process answers, with a report) and `/ready`
 * (readiness: this process should get traffic). Each check is bounded in time and the report is
 * cached briefly, so a probe storm or a dead dependency never stalls the API.
 */
import type { Connection } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type { PrismaClient } from '../infra/prisma.js';

export type DependencyName = 'postgres' | 'redis' | 'temporal';
export interface DependencyCheck {
  status: 'up' | 'down';
  latencyMs: number;
  reason?: string;
}
export interface HealthReport {
  /** ok: every dependency up; degraded: some down (assignment still serves from its cache). */
  status: 'ok' | 'degraded';
  checks: Record<DependencyName, DependencyCheck>;
  /** Extra notes, e.g. that /assign is answering without its sticky store. */
  notes: string[];
}

const CHECK_TIMEOUT_MS = 1_000;
const CACHE_MS = 1_000;

async function timed(run: () => Promise<unknown>): Promise<DependencyCheck> {
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      run(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS))),
    ]);
    return { status: 'up', latencyMs: Date.now() - t0 };
  } catch (e) {
    return { status: 'down', latencyMs: Date.now() - t0, reason: (e as Error).message || String(e) };
  } finally {
    clearTimeout(timer);
  }
}

export class HealthChecker {
  private cached: { at: number; report: Promise<HealthReport> } | null = null;

  constructor(
    private readonly d: { prisma: PrismaClient; redis: Redis; temporal: Connection; notes?: () => string[] },
  ) {}

  report(): Promise<HealthReport> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at > CACHE_MS) this.cached = { at: now, report: this.check() };
    return this.cached.report;
  }

  private async check(): Promise<HealthReport> {
    const { prisma, redis, temporal } = this.d;
    const [postgres, redisCheck, temporalCheck] = await Promise.all([
      timed(() => prisma.$queryRaw`SELECT 1`),
      timed(async () => {
        if (redis.status !== 'ready') throw new Error(`connection ${redis.status}`);
        await redis.ping();
      }),
      timed(() => temporal.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => temporal.healthService.check({}))),
    ]);
    const checks = { postgres, redis: redisCheck, temporal: temporalCheck };
    const down = Object.values(checks).some((c) => c.status === 'down');
    return { status: down ? 'degraded' : 'ok', checks, notes: this.d.notes?.() ?? [] };
  }
}
