/**
 * External context behind the routes: pushed signals (store, make current, react), pull sources
 * (a row plus the Temporal Schedule that polls it), and the signal time series.
 */
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import type { ContextSignal } from '../domain/context/signals.js';
import { publishCurrentSignals, storeSignals } from '../infra/context-store.js';
import { reactToSignals, type DeliveredReaction } from '../infra/context-reactions.js';
import type { PrismaClient } from '../infra/prisma.js';
import { DEFAULT_SOURCE_ACCESS, vetSourceUrl, type Resolver, type SourceAccess } from '../infra/source-fetch.js';
import { ApiError } from './errors.js';
import { requireRedis } from './redis-guard.js';
import { toScope, type ContextSourceInput } from './context-schemas.js';

export interface ContextServiceDeps {
  prisma: PrismaClient;
  pool: Pool;
  redis: Redis;
  temporal: Client;
  taskQueue: string;
  now?: () => Date;
  /** What pull sources may fetch (SSRF guard); checked at registration and again at each poll. */
  sourceAccess?: SourceAccess;
  resolve?: Resolver;
}

const scheduleIdFor = (sourceKey: string) => `context-source-${sourceKey}`;

export class ContextService {
  constructor(private readonly d: ContextServiceDeps) {}

  /** Stores the signals (each observation once), makes them current, and delivers the rules they fire. */
  async ingest(signals: ContextSignal[], actor: string): Promise<{ accepted: number; stored: number; reactions: DeliveredReaction[] }> {
    const now = (this.d.now ?? (() => new Date()))();
    requireRedis(this.d.redis, 'signals');
    const fresh = await storeSignals(this.d.pool, signals);
    await publishCurrentSignals(this.d.redis, fresh, now.getTime());
    const reactions = fresh.length ? await reactToSignals(this.d, fresh, actor) : [];
    return { accepted: signals.length, stored: fresh.length, reactions };
  }

  /** Creates or replaces a pull source and its schedule; the first poll runs right away. */
  async registerSource(input: ContextSourceInput, actor: string) {
    try {
      await vetSourceUrl(input.url, this.d.sourceAccess ?? DEFAULT_SOURCE_ACCESS, this.d.resolve);
    } catch (e) {
      const why = (e as Error).message;
      throw new ApiError(400, 'invalid_request', `url: ${why}`, { issues: [{ field: 'url', message: why }] });
    }
    const data = { url: input.url, intervalSeconds: input.intervalSeconds, mapping: input.mapping as object, scope: toScope(input.scope) as object, ttlSeconds: input.ttl ?? null };
    const row = await this.d.prisma.contextSource.upsert({ where: { key: input.key }, create: { key: input.key, ...data }, update: { ...data, failures: 0, lastError: null } });
    const scheduleId = scheduleIdFor(input.key);
    const spec = { intervals: [{ every: `${input.intervalSeconds}s` }] };
    const action = {
      type: 'startWorkflow' as const,
      workflowType: 'contextSourceWorkflow',
      args: [{ sourceKey: input.key }],
      taskQueue: this.d.taskQueue,
      workflowId: scheduleId,
    };
    try {
      await this.d.temporal.schedule.create({
        scheduleId,
        spec,
        action,
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${Math.max(60, input.intervalSeconds)}s` },
        state: { triggerImmediately: true, note: `expflow context source ${input.key}` },
      });
    } catch (e) {
      if (!(e instanceof ScheduleAlreadyRunning)) throw e;
      const handle = this.d.temporal.schedule.getHandle(scheduleId);
      await handle.update((prev) => ({ ...prev, spec, action }));
      await handle.trigger(ScheduleOverlapPolicy.SKIP);
    }
    await this.d.prisma.auditLog.create({ data: { actor, action: 'context.source_registered', target: `context-source:${input.key}`, data: { url: input.url, intervalSeconds: input.intervalSeconds } } });
    return { ...serialiseSource(row), scheduleId };
  }

  async listSources() {
    const rows = await this.d.prisma.contextSource.findMany({ orderBy: { key: 'asc' } });
    return rows.map((r) => ({ ...serialiseSource(r), scheduleId: scheduleIdFor(r.key) }));
  }

  async deleteSource(key: string, actor: string) {
    const row = await this.d.prisma.contextSource.findUnique({ where: { key } });
    if (!row) throw new ApiError(404, 'not_found', `key: context source '${key}' does not exist`);
    try {
      await this.d.temporal.schedule.getHandle(scheduleIdFor(key)).delete();
    } catch (e) {
      if (!(e instanceof ScheduleNotFoundError)) throw e;
    }
    await this.d.prisma.contextSource.delete({ where: { key } });
    await this.d.prisma.auditLog.create({ data: { actor, action: 'context.source_deleted', target: `context-source:${key}` } });
    return { deleted: key };
  }

  /** The stored time series, newest first. */
  async listSignals(q: { source?: string; name?: string; since?: string; limit: number }) {
    const rows = await this.d.prisma.contextSignal.findMany({
      where: { source: q.source, name: q.name, ...(q.since ? { timestamp: { gte: new Date(q.since) } } : {}) },
      orderBy: [{ timestamp: 'desc' }, { id: 'desc' }],
      take: q.limit,
    });
    return rows.map((r) => ({
      source: r.source,
      name: r.name,
      value: r.value,
      timestamp: r.timestamp.toISOString(),
      ttl: r.ttlSeconds,
      scope: r.scope,
      receivedAt: r.receivedAt.toISOString(),
    }));
  }
}

function serialiseSource(r: { key: string; url: string; intervalSeconds: number; mapping: unknown; scope: unknown; ttlSeconds: number | null; lastPolledAt: Date | null; lastSignals: number; lastError: string | null; failures: number }) {
  return {
    key: r.key,
    url: r.url,
    intervalSeconds: r.intervalSeconds,
    mapping: r.mapping,
    scope: r.scope,
    ttl: r.ttlSeconds,
    lastPolledAt: r.lastPolledAt?.toISOString() ?? null,
    lastSignals: r.lastSignals,
    lastError: r.lastError,
    failures: r.failures,
  };
}
