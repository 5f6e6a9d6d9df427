/**
 * Reports behind GET /experiments/:key/report and GET /entities/:entity/report. An experiment
 * report's cells come from the incremental rollup (infra/report-rollup.ts), brought up to date
 * with the per-unit aggregates first: that costs what arrived since the last refresh (by a cycle
 * or an earlier report), not the experiment's history. Decisions, snapshots, predictions and
 * alerts are read as they are.
 */
import type { Pool } from 'pg';
import { buildEntityReport, type EntityReport } from '../domain/report/entity-report.js';
import { buildExperimentReport, type ExperimentReport } from '../domain/report/experiment-report.js';
import type { LoadedExperiment } from '../infra/experiment-repo.js';
import type { PrismaClient } from '../infra/prisma.js';
import { experimentAggregateSpec, refreshUnitAggregates } from '../infra/unit-aggregates.js';
import { readReportCells, type ReportCells } from '../infra/report-rollup.js';
import { loadEntityReportInput, loadExperimentReportInput } from '../infra/report-loader.js';
import { ApiError } from './errors.js';

export interface ReportServiceOptions {
  /** Base URL of the Temporal Web UI; workflow links point there. */
  temporalUiUrl: string;
  namespace: string;
  now?: () => Date;
}

export class ReportService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: Pool,
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

  /**
   * The rolled-up cells, current as of this request. While a cycle (or another report) is
   * refreshing the experiment, the rollup as of the last finished refresh is served rather than
   * waiting; only an experiment that has never been refreshed waits for its first one.
   */
  private async cells(exp: LoadedExperiment): Promise<ReportCells & { computedAt: string }> {
    const spec = experimentAggregateSpec(exp);
    const r = await refreshUnitAggregates(this.pool, exp.id, spec, { skipIfBusy: true });
    let cells = await readReportCells(this.pool, exp.id);
    if (!cells && r.busy) {
      await refreshUnitAggregates(this.pool, exp.id, spec);
      cells = await readReportCells(this.pool, exp.id);
    }
    if (!cells) throw new Error(`report rollup of ${exp.def.key} is missing after a refresh`);
    // Stored as UTC wall-clock time without a zone.
    const wm = await this.pool.query<{ at: string }>(
      `SELECT to_char("updatedAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at FROM "AggregateWatermark" WHERE "experimentId" = $1`,
      [exp.id],
    );
    return { ...cells, computedAt: wm.rows[0]?.at ?? this.now().toISOString() };
  }
}
