/**
 * Reports behind GET /experiments/:key/report and GET /entities/:entity/report. An experiment
 * report's cells come from the incremental rollup (infra/report-rollup.ts), which every cycle
 * brings up to date with the per-unit aggregates, and a report in the background when older than
 * `refreshAfterMs`: a report reads a few thousand rows, whatever the experiment's history. Decisions, snapshots, predictions and
 * alerts are read as they are, and so are the latest offline evaluations (`offline`: the "what
 * if" policy estimates and the running-window comparison, made by POST /evaluations).
 */
import type { Pool } from 'pg';
import { buildEntityReport, type EntityReport } from '../domain/report/entity-report.js';
import { buildExperimentReport, type ExperimentReport } from '../domain/report/experiment-report.js';
import type { LoadedExperiment } from '../infra/experiment-repo.js';
import type { PrismaClient } from '../infra/prisma.js';
import { experimentAggregateSpec, refreshUnitAggregates } from '../infra/unit-aggregates.js';
import { readReportCells, type ReportCells } from '../infra/report-rollup.js';
import { loadEntityReportInput, loadExperimentReportInput, loadOfflineEvaluations, type OfflineEvaluations } from '../infra/report-loader.js';
import { ApiError } from './errors.js';

export interface ReportServiceOptions {
  /** Base URL of the Temporal Web UI; workflow links point there. */
  temporalUiUrl: string;
  namespace: string;
  /** Cells older than this are refreshed in the background (default 30 s; REPORT_REFRESH_SECONDS). */
  refreshAfterMs?: number;
  now?: () => Date;
}

export class ReportService {
  private readonly inflight = new Map<string, Promise<unknown>>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: Pool,
    private readonly opts: ReportServiceOptions,
  ) {}

  /** Link to the experiment's workflow in the Temporal UI. */
  workflowUrl(key: string): string {
    return `${this.opts.temporalUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(this.opts.namespace)}/workflows/${encodeURIComponent(`experiment-${key}`)}`;
  }

  async experimentReport(key: string): Promise<ExperimentReport & { cellsComputedAt: string; offline: OfflineEvaluations }> {
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
    return { ...buildExperimentReport(input), cellsComputedAt: computedAt, offline: await loadOfflineEvaluations(this.prisma, key) };
  }

  async entityReport(entity: string, at: Date | undefined): Promise<EntityReport> {
    return buildEntityReport(await loadEntityReportInput(this.prisma, this.pool, entity, at ?? this.now()));
  }

  private now(): Date {
    return (this.opts.now ?? (() => new Date()))();
  }

  /**
   * The rolled-up cells as of the experiment's last refresh (each cycle refreshes it). Older than
   * `refreshAfterMs`, a refresh starts in the background (once per process; skipped while another
   * process or a cycle is refreshing) and this answer serves the rollup as it is, so a report never
   * waits for a backlog; `cellsComputedAt` says when the cells were last brought up to date. Only
   * an experiment never refreshed at all waits for its first refresh.
   */
  private async cells(exp: LoadedExperiment): Promise<ReportCells & { computedAt: string }> {
    let cells = await readReportCells(this.pool, exp.id);
    if (!cells) {
      await this.refresh(exp, false);
      cells = await readReportCells(this.pool, exp.id);
      if (!cells) throw new Error(`report rollup of ${exp.def.key} is missing after a refresh`);
    }
    // Stored as UTC wall-clock time without a zone.
    const wm = await this.pool.query<{ at: string }>(
      `SELECT to_char("updatedAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at FROM "AggregateWatermark" WHERE "experimentId" = $1`,
      [exp.id],
    );
    const computedAt = wm.rows[0]?.at ?? this.now().toISOString();
    if (this.now().getTime() - Date.parse(computedAt) >= (this.opts.refreshAfterMs ?? 30_000)) {
      this.refresh(exp, true).catch((e: Error) => console.error(`[api] report cells of ${exp.def.key} could not refresh: ${e.message}`));
    }
    return { ...cells, computedAt };
  }

  private refresh(exp: LoadedExperiment, skipIfBusy: boolean): Promise<unknown> {
    const running = this.inflight.get(exp.id);
    if (running) return running;
    const p = refreshUnitAggregates(this.pool, exp.id, experimentAggregateSpec(exp), { skipIfBusy }).finally(() => this.inflight.delete(exp.id));
    this.inflight.set(exp.id, p);
    return p;
  }
}
