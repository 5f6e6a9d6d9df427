/**
 * Offline evaluations: export a tracked dataset, then run a running-window comparison, an
 * off-policy estimate, or a replay of the decisions. The CLI runs `executeEvaluationRun` in
 * process; the API runs it inline for small ranges and through `evaluationWorkflow` (this activity)
 * for large ones. Either way the request and the result live in one EvaluationRun row, linked to
 * the dataset it read.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { ApplicationFailure } from '@temporalio/common';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { toJsonSafe } from '../domain/json-safe.js';
import { evaluatePolicy, type EvaluationRow, type PolicyEvaluation } from '../domain/evaluation/evaluate-policy.js';
import { replayDecisions, type ReplayResult } from '../domain/evaluation/replay.js';
import { evaluationRequestSchema, parseDuration, policyLabel, standardAlternatives, type EvaluationRequest } from '../domain/evaluation/request.js';
import { evaluateRunningWindows, windowEnds, type WindowRow } from '../domain/evaluation/running-window.js';
import { resolveTargetPolicy, TargetPolicyError } from '../domain/evaluation/target-policy.js';
import { DATASET_COLUMNS, DatasetScopeError, exportDataset, type ExportedDataset } from '../infra/evaluation-export.js';

const duckColumns = () => `{${DATASET_COLUMNS.map(([n, t]) => `'${n}': '${t}'`).join(', ')}}`;
import { windowCells } from '../infra/evaluation-window.js';
import { InvalidStoredDataError } from '../infra/errors.js';
import { loadExperiment, type LoadedExperiment } from '../infra/experiment-repo.js';
import type { PrismaClient } from '../infra/prisma.js';
import { loadReplayInput } from '../infra/replay-inputs.js';
import { finishEvaluationRun, loadEvaluationDataset, loadEvaluationRun, recordFinishedRun } from '../infra/evaluation-runs.js';
import type { ActivityDeps } from './deps.js';

/** Bad input found while running (an unknown experiment, arm or metric): names the field. */
export class EvaluationInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export interface DatasetSummary {
  id: string;
  contentHash: string;
  rowCount: number;
  files: ExportedDataset['files'];
}

export type EvaluationResult =
  | { kind: 'export'; dataset: DatasetSummary }
  | { kind: 'window'; dataset: DatasetSummary; window: string; step: string; rows: WindowRow[] }
  | { kind: 'replay'; experiment: string; replay: ReplayResult }
  | { kind: 'policy'; dataset: DatasetSummary; policies: Array<{ label: string; evaluation: PolicyEvaluation }> };

/** Bound on the windows one evaluation computes. */
const MAX_WINDOWS = 1000;

type Deps = Pick<ActivityDeps, 'prisma' | 'pool' | 'evaluationDataDir' | 'now'>;

const datasetDir = (d: Deps) => d.evaluationDataDir ?? join(process.cwd(), '.data', 'datasets');

/** Runs one validated request. */
export async function runEvaluation(d: Deps, req: EvaluationRequest): Promise<{ result: EvaluationResult; datasetId: string | null }> {
  const now = d.now?.() ?? new Date();
  const exp = req.experiment !== undefined ? await loadExisting(d.prisma, req.experiment) : null;
  if (req.kind === 'replay') {
    const replay = replayDecisions(await loadReplayInput(d, exp!));
    return { result: { kind: 'replay', experiment: exp!.def.key, replay }, datasetId: null };
  }
  const duck = await DuckDBInstance.create(':memory:');
  const conn = await duck.connect();
  try {
    let dataset: { id: string; contentHash: string; rowCount: number; files: ExportedDataset['files'] };
    let from: Date;
    let to: Date;
    if (req.dataset !== undefined) {
      // Re-evaluate a tracked dataset as it was exported: no new export, the same rows.
      ({ dataset, from, to } = await loadTrackedDataset(d.prisma, conn, req.dataset, exp!.def.key));
      checkWindowCount(req, from, to);
    } else {
      from = req.from ?? exp?.createdAt ?? new Date(0);
      to = req.to ?? now;
      checkWindowCount(req, from, to);
      dataset = await exportDataset(
        d,
        { from, to, ...(req.experiment !== undefined ? { experiment: req.experiment } : {}), ...(req.entity !== undefined ? { entity: req.entity } : {}), ...(req.modelVersion !== undefined ? { modelVersion: req.modelVersion } : {}) },
        { dir: datasetDir(d), formats: req.formats, duckdb: duck },
      ).catch((err: unknown) => {
        if (err instanceof DatasetScopeError) throw new EvaluationInputError(err.field, err.message);
        throw err;
      });
    }
    const summary: DatasetSummary = { id: dataset.id, contentHash: dataset.contentHash, rowCount: dataset.rowCount, files: dataset.files };
    switch (req.kind) {
      case 'export':
        return { result: { kind: 'export', dataset: summary }, datasetId: dataset.id };
      case 'window': {
        const windowSeconds = parseDuration(req.window);
        const ends = windowEnds(from, to, windowSeconds, parseDuration(req.step));
        const { config } = exp!.def;
        const control = exp!.def.variants.find((v) => v.isControl)!.key;
        const cells = await windowCells(conn, { experimentKey: exp!.def.key, control, contextual: config.policy.kind === 'contextual' && exp!.def.variants.length === 2, ends, windowSeconds });
        const rows = evaluateRunningWindows({
          windows: ends.map((end) => ({ end, cells: cells.get(end.toISOString()) ?? [] })),
          windowSeconds,
          metrics: req.metric ? [metricOf(exp!, req.metric)] : config.metrics,
          control,
          variants: exp!.def.variants.map((v) => v.key),
          alpha: req.alpha,
          ...(config.sequentialTuningN ? { tuningN: config.sequentialTuningN } : {}),
          bySegment: req.segments,
        });
        return { result: { kind: 'window', dataset: summary, window: req.window, step: req.step, rows }, datasetId: dataset.id };
      }
      case 'policy': {
        const metric = req.metric ? metricOf(exp!, req.metric) : exp!.def.config.metrics.find((m) => m.role === 'primary')!;
        const variants = exp!.def.variants.map((v) => ({ key: v.key, isControl: v.isControl }));
        const targets = req.policies?.map((p) => ({ label: policyLabel(p), policy: p })) ?? standardAlternatives(variants.map((v) => v.key));
        // Check every target against the arms before reading any data.
        targets.forEach((t, i) => {
          try {
            resolveTargetPolicy(t.policy, { variants, armStats: {}, metricType: metric.type, direction: metric.direction });
          } catch (err) {
            if (err instanceof TargetPolicyError) throw new EvaluationInputError(err.path.replace(/^policy/, `policies.${i}`), err.message.replace(/^[^:]*: /, ''));
            throw err;
          }
        });
        const rows = await readRows(conn, exp!.def.key, metric.key);
        if (rows.length === 0) throw new EvaluationInputError('from', `no exposures of '${exp!.def.key}' between ${from.toISOString()} and ${to.toISOString()}`);
        const policies = targets.map((t) => ({ label: t.label, evaluation: evaluatePolicy({ rows, variants, metric, policy: t.policy, alpha: req.alpha }) }));
        return { result: { kind: 'policy', dataset: summary, policies }, datasetId: dataset.id };
      }
      default:
        throw new Error(`unhandled evaluation kind ${String(req.kind satisfies never)}`);
    }
  } finally {
    conn.closeSync();
    duck.closeSync();
  }
}

/** Refuses a window request with more than MAX_WINDOWS windows before any work is done. */
function checkWindowCount(req: EvaluationRequest, from: Date, to: Date): void {
  if (req.kind !== 'window') return;
  const count = Math.floor((to.getTime() - from.getTime()) / 1000 / parseDuration(req.step));
  if (count > MAX_WINDOWS) throw new EvaluationInputError('step', `${count} windows in the range; at most ${MAX_WINDOWS}: use a larger step or a shorter range`);
}

/** Loads a registered dataset's file into DuckDB as table `ds`; it must cover the experiment. */
async function loadTrackedDataset(prisma: PrismaClient, conn: DuckDBConnection, id: string, experimentKey: string) {
  const row = await loadEvaluationDataset(prisma, id);
  if (!row) throw new EvaluationInputError('dataset', `dataset ${id} does not exist`);
  const scope = row.scope as { experiments?: Array<{ key: string }> };
  if (!scope.experiments?.some((e) => e.key === experimentKey)) throw new EvaluationInputError('dataset', `dataset ${id} does not cover experiment '${experimentKey}'`);
  const files = row.files as ExportedDataset['files'];
  const path = files.parquet ?? files.ndjson;
  if (!path || !existsSync(path)) throw new EvaluationInputError('dataset', `dataset ${id}'s files are no longer at ${path ?? '(none)'}`);
  const sqlPath = `'${path.replace(/'/g, "''")}'`;
  await conn.run(`CREATE OR REPLACE TABLE ds AS SELECT * FROM ${files.parquet ? `read_parquet(${sqlPath})` : `read_json(${sqlPath}, format = 'newline_delimited', columns = ${duckColumns()})`}`);
  return { dataset: { id: row.id, contentHash: row.contentHash, rowCount: row.rowCount, files }, from: row.rangeStart, to: row.rangeEnd };
}

async function loadExisting(prisma: PrismaClient, key: string): Promise<LoadedExperiment> {
  try {
    return await loadExperiment(prisma, key);
  } catch (err) {
    // infra/ reports a missing experiment (or an unparseable stored config) as InvalidStoredDataError.
    if (err instanceof InvalidStoredDataError) throw new EvaluationInputError('experiment', err.message);
    throw err;
  }
}

function metricOf(exp: LoadedExperiment, key: string) {
  const m = exp.def.config.metrics.find((x) => x.key === key);
  if (!m) throw new EvaluationInputError('metric', `experiment '${exp.def.key}' has no metric '${key}' (metrics: ${exp.def.config.metrics.map((x) => x.key).join(', ')})`);
  return m;
}

async function readRows(conn: DuckDBConnection, experimentKey: string, metric: string): Promise<EvaluationRow[]> {
  const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
  const reader = await conn.runAndReadAll(
    `SELECT variant, propensity, context::VARCHAR AS context, logging_weights::VARCHAR AS lw, value FROM ds WHERE experiment_key = ${lit(experimentKey)} AND metric = ${lit(metric)} ORDER BY unit_id`,
  );
  return reader.getRowObjects().map((r) => ({
    variant: String(r.variant),
    propensity: Number(r.propensity),
    context: JSON.parse(String(r.context ?? '{}')) as EvaluationRow['context'],
    loggingWeights: r.lw === null ? null : (JSON.parse(String(r.lw)) as Record<string, number>),
    value: Number(r.value),
  }));
}

/**
 * Runs a stored EvaluationRun and records its result (or its error). Idempotent: a run that
 * already finished returns its stored status, so an activity retry never evaluates twice.
 */
async function executeEvaluationRun(d: Deps, runId: string): Promise<{ status: 'succeeded' | 'failed'; error: string | null }> {
  const run = await loadEvaluationRun(d.prisma, runId);
  if (!run) throw ApplicationFailure.nonRetryable(`evaluation run ${runId} does not exist`, 'InvalidConfig');
  if (run.status !== 'running') return { status: run.status, error: run.error };
  const parsed = evaluationRequestSchema.safeParse(run.request);
  try {
    if (!parsed.success) throw new EvaluationInputError(parsed.error.issues[0]?.path.join('.') || 'request', parsed.error.issues[0]?.message ?? 'invalid');
    const { result, datasetId } = await runEvaluation(d, parsed.data);
    await finishEvaluationRun(d.prisma, runId, { status: 'succeeded', result: toJsonSafe(result) as object, datasetId }, new Date());
    return { status: 'succeeded', error: null };
  } catch (err) {
    // Bad input is final; anything else is left to the caller's retry policy.
    if (!(err instanceof EvaluationInputError)) throw err;
    await finishEvaluationRun(d.prisma, runId, { status: 'failed', error: err.message }, new Date());
    return { status: 'failed', error: err.message };
  }
}

/** The activity behind evaluationWorkflow. */
export function runEvaluationActivity(d: ActivityDeps) {
  return async ({ runId }: { runId: string }) => executeEvaluationRun(d, runId);
}

/** Records a run that could not finish (the workflow's retries ran out). */
export function failEvaluationActivity(d: ActivityDeps) {
  return async ({ runId, error }: { runId: string; error: string }) => {
    await finishEvaluationRun(d.prisma, runId, { status: 'failed', error }, new Date());
  };
}

/** Runs a request in process and stores it as a finished EvaluationRun; bad input throws EvaluationInputError and stores nothing. */
export async function runAndRecord(d: Deps, req: EvaluationRequest): Promise<{ runId: string; result: EvaluationResult; datasetId: string | null }> {
  const { result, datasetId } = await runEvaluation(d, req);
  const runId = await recordFinishedRun(d.prisma, { kind: req.kind, request: JSON.parse(JSON.stringify(req)) as object, result: toJsonSafe(result) as object, datasetId }, new Date());
  return { runId, result, datasetId };
}
