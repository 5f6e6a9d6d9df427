/**
 * Reports behind GET /experiments/:key/report and GET /entities/:entity/report. The heavy part of an
 * experiment report, the SQL aggregate over every unit and event, is cached in Redis for
 * `cellsTtlMs` and shared by every API process; a stale entry is served while one process
 * refreshes it, so a report answers from the cache plus a few indexed reads. Decisions,
 * snapshots, predictions and alerts are always read fresh.
 */
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { buildEntityReport, type EntityReport } from '../domain/report/entity-report.js';
import { buildExperimentReport, type ExperimentReport } from '../domain/report/experiment-report.js';
import type { LoadedExperiment } from '../infra/experiment-repo.js';
import type { PrismaClient } from '../infra/prisma.js';
import { aggregationSpec } from '../domain/experiment/aggregation-spec.js';
import { refreshUnitAggregates } from '../infra/unit-aggregates.js';
import { cellDesignOf, loadEntityReportInput, loadExperimentReportInput, loadReportCells, type ReportCells } from '../infra/report-loader.js';
import { ApiError } from './errors.js';

export interface ReportServiceOptions {
  /** Base URL of the Temporal Web UI; workflow links point there. */
  temporalUiUrl: string;
  namespace: string;
  /** How long cached report cells are fresh (default 30 s). */
  cellsTtlMs?: number;
  now?: () => Date;
}

interface CachedCells extends ReportCells {
  computedAt: string;
}

const cacheKey = (experimentId: string) => `expflow:report-cells:${experimentId}`;

export class ReportService {
  private readonly inflight = new Map<string, Promise<CachedCells>>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: Pool,
    private readonly redis: Redis,
    private readonly opts: ReportServiceOptions,
  ) {}

  /** Link to the experiment's workflow in the Temporal UI. */
  workflowUrl(key: string): string {
    return `${this.opts.temporalUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(this.opts.namespace)}/workflows/${encodeURIComponent(`experiment-${key}`)}`;
  }

  async experimentReport(key: string): Promise<ExperimentReport & { cellsComputedAt: string }> {
    if (!(await this.prisma.experiment.findUnique({ where: { key }, select: { id: true } }))) throw new ApiError(404, 'not_found', `key: experiment '${key}' does not exist`);
    let computedAt = '';
    const input = await loadExperimentReportInput(this.prisma, this.pool, key, {
      now: this.now(),
      workflowUrl: this.workflowUrl(key),
      cells: async (exp) => {
        const c = await this.cells(exp);
        computedAt = c.computedAt;
        return c;
      },
    });
    return { ...buildExperimentReport(input), cellsComputedAt: computedAt };
  }

  async entityReport(entity: string, at: Date | undefined): Promise<EntityReport> {
    return buildEntityReport(await loadEntityReportInput(this.prisma, this.pool, entity, at ?? this.now()));
  }

  private now(): Date {
    return (this.opts.now ?? (() => new Date()))();
  }

  /** Fresh cached cells, else stale ones while a refresh runs, else computed now (once per process). */
  private async cells(exp: LoadedExperiment): Promise<CachedCells> {
    const ttl = this.opts.cellsTtlMs ?? 30_000;
    // The cache is Redis: while it is away, reports are computed from Postgres each time.
    const raw = this.redis.status === 'ready' ? await this.redis.get(cacheKey(exp.id)).catch(() => null) : null;
    const cached = raw ? (JSON.parse(raw) as CachedCells) : null;
    const age = cached ? this.now().getTime() - Date.parse(cached.computedAt) : Infinity;
    if (cached && age < ttl) return cached;
    const refresh = this.refresh(exp, ttl);
    if (cached) {
      refresh.catch((e: Error) => console.error(`[api] report cells of ${exp.def.key} could not refresh: ${e.message}`));
      return cached;
    }
    return refresh;
  }

  private refresh(exp: LoadedExperiment, ttl: number): Promise<CachedCells> {
    const running = this.inflight.get(exp.id);
    if (running) return running;
    const p = (async () => {
      // Outcomes come from the per-unit aggregates: bring them up to date (incremental) first.
      await refreshUnitAggregates(this.pool, exp.id, aggregationSpec(exp.def.config));
      const cells = await loadReportCells(this.pool, exp.id, exp.def.config.metrics, cellDesignOf(exp));
      const entry: CachedCells = { ...cells, computedAt: this.now().toISOString() };
      // Kept well past freshness so a stale copy can be served while the next refresh runs.
      if (this.redis.status === 'ready') {
        await this.redis.set(cacheKey(exp.id), JSON.stringify(entry), 'PX', Math.max(ttl * 20, 600_000)).catch((e: Error) => console.error(`[api] report cells of ${exp.def.key} not cached: ${e.message}`));
      }
      return entry;
    })().finally(() => this.inflight.delete(exp.id));
    this.inflight.set(exp.id, p);
    return p;
  }
}
