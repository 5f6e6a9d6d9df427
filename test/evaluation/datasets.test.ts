/**
 * Evaluation datasets and the evaluations that read them, on the real test database: tracked
 * exports (stable hash, changed by any row), running windows that show a planted novelty decay,
 * and off-policy estimates of the standard alternatives against the planted truth.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EvaluationInputError, runAndRecord, runEvaluation } from '../../activities/evaluate.js';
import { evaluationRequestSchema } from '../../domain/evaluation/request.js';
import { createRng } from '../../domain/rng.js';
import { writeEvents, writeExposures } from '../../infra/ingest.js';
import { useActivities } from '../helpers/activity-deps.js';
import { abExperiment, createExperimentRow } from '../helpers/fixtures.js';
import { uniqueSuffix } from '../helpers/services.js';

const deps = useActivities();
const DAY = 86_400_000;
// Recent days: stored events are kept for a retention period counted back from today.
const START = new Date(Math.floor(Date.now() / DAY) * DAY - 20 * DAY);
const END = new Date(START.getTime() + 14 * DAY);
const dir = join(tmpdir(), `expflow-datasets-${uniqueSuffix()}`);

/** Control converts at 20%; treatment at 20% + 15%·exp(−day/3): a novelty effect that decays. */
const rate = (variant: string, day: number) => (variant === 'control' ? 0.2 : 0.2 + 0.15 * Math.exp(-day / 3));

async function seedExperiment(entity: string, perDay = 600) {
  const key = `eval-${uniqueSuffix()}`;
  await createExperimentRow(deps.prisma, deps.redis, abExperiment(key, { entity }));
  const rng = createRng(11);
  const exposures = [];
  const events = [];
  let truth = { control: 0, treatment: 0 };
  for (let day = 0; day < 14; day++) {
    for (let j = 0; j < perDay; j++) {
      const i = day * perDay + j;
      const variant = rng() < 0.5 ? 'control' : 'treatment';
      const unitId = `${key}-u${i}`;
      const at = new Date(START.getTime() + day * DAY + j * 100_000);
      exposures.push({ experiment: key, unitId, variant, propensity: 0.5, segment: 0, snapshotVersion: 1, context: { device: i % 3 === 0 ? 'ios' : 'android', tenure: i % 7 }, assignedAt: at.toISOString() });
      truth.control += rate('control', day) / (14 * perDay);
      truth.treatment += rate('treatment', day) / (14 * perDay);
      if (rng() < rate(variant, day)) events.push({ eventId: `${unitId}-p`, experiment: key, unitId, name: 'purchase', value: 1, timestamp: new Date(at.getTime() + 3_600_000).toISOString(), context: {} });
    }
  }
  for (let i = 0; i < exposures.length; i += 2000) await writeExposures(deps.pool, exposures.slice(i, i + 2000));
  for (let i = 0; i < events.length; i += 2000) await writeEvents(deps.pool, events.slice(i, i + 2000));
  return { key, truth, units: exposures.length };
}

const d = () => ({ prisma: deps.prisma, pool: deps.pool, evaluationDataDir: dir });
const request = (x: Record<string, unknown>) => evaluationRequestSchema.parse(x);

describe('evaluation datasets', () => {
  it('exports a tracked dataset whose hash is stable across exports and changes with a row', async () => {
    const entity = `shop-${uniqueSuffix()}`;
    const { key, units } = await seedExperiment(entity, 100);
    const req = request({ kind: 'export', experiment: key, from: START.toISOString(), to: END.toISOString() });
    const a = await runEvaluation(d(), req);
    const b = await runEvaluation(d(), req);
    if (a.result.kind !== 'export' || b.result.kind !== 'export') throw new Error('unexpected kind');
    expect(a.result.dataset.rowCount).toBe(units);
    expect(a.result.dataset.id).not.toBe(b.result.dataset.id);
    expect(a.result.dataset.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.result.dataset.contentHash).toBe(a.result.dataset.contentHash);

    // Both formats are complete: NDJSON has one line per row, Parquet reads back the same rows.
    const ndjson = (await readFile(a.result.dataset.files.ndjson!, 'utf8')).trim().split('\n');
    expect(ndjson).toHaveLength(units);
    const first = JSON.parse(ndjson[0]!);
    expect(Object.keys(first)).toEqual(['experiment_key', 'unit_id', 'variant', 'propensity', 'segment', 'snapshot_version', 'assigned_at', 'context', 'logging_weights', 'metric', 'value']);
    expect(first.context).toHaveProperty('device');
    expect(first.logging_weights).toEqual({ control: 0.5, treatment: 0.5 });
    const duck = await DuckDBInstance.create(':memory:');
    const conn = await duck.connect();
    const pq = await conn.runAndReadAll(`SELECT count(*)::INTEGER AS n, sum(value)::DOUBLE AS s FROM '${a.result.dataset.files.parquet}'`);
    const events = await deps.pool.query<{ n: number }>(`SELECT count(DISTINCT "unitId")::int AS n FROM "Event" WHERE "unitId" LIKE $1 || '-u%'`, [key]);
    expect(pq.getRowObjects()[0]).toEqual({ n: units, s: events.rows[0]!.n });
    conn.closeSync();
    duck.closeSync();

    // Registered, listed for the entity, with its query.
    const listed = await deps.prisma.evaluationDataset.findMany({ where: { entity }, orderBy: { createdAt: 'asc' } });
    expect(listed.map((r) => r.id)).toEqual([a.result.dataset.id, b.result.dataset.id]);
    expect(listed[0]!.query).toContain('FROM "Assignment"');
    expect(listed[0]!.rowCount).toBe(units);

    // An entity-scoped export covers the same experiment and gives the same content.
    const byEntity = await runEvaluation(d(), request({ kind: 'export', entity, from: START.toISOString(), to: END.toISOString() }));
    expect(byEntity.result.kind === 'export' && byEntity.result.dataset.contentHash).toBe(a.result.dataset.contentHash);

    // One outcome changes → the hash changes.
    await deps.pool.query(
      `DELETE FROM "Event" WHERE id = (SELECT id FROM "Event" WHERE "unitId" LIKE $1 || '-u%' ORDER BY id LIMIT 1)`,
      [key],
    );
    const c = await runEvaluation(d(), req);
    expect(c.result.kind === 'export' && c.result.dataset.contentHash).not.toBe(a.result.dataset.contentHash);
  }, 240_000);

  it('runs 7-day windows stepping one day: the novelty effect decays, intervals are always-valid', async () => {
    const { key } = await seedExperiment(`shop-${uniqueSuffix()}`);
    const { result } = await runEvaluation(d(), request({ kind: 'window', experiment: key, window: '7d', step: '1d', segments: true, from: START.toISOString(), to: END.toISOString() }));
    if (result.kind !== 'window') throw new Error('unexpected kind');
    const pooled = result.rows.filter((r) => r.segment === null);
    expect(pooled.map((r) => r.windowEnd)).toEqual(Array.from({ length: 8 }, (_, k) => new Date(START.getTime() + (7 + k) * DAY).toISOString()));
    for (const r of pooled) {
      expect(r.controlN + r.treatmentN).toBe(7 * 600);
      expect(r.ci![0]).toBeLessThan(r.estimate);
      expect(r.ci![1]).toBeGreaterThan(r.estimate);
    }
    // Planted effect in the first window (days 0-6) ≈ 0.067, in the last (days 7-13) ≈ 0.006.
    expect(pooled[0]!.estimate).toBeGreaterThan(0.035);
    expect(pooled[0]!.ci![0]).toBeGreaterThan(0);
    expect(pooled.at(-1)!.estimate).toBeLessThan(0.035);
    expect(pooled.at(-1)!.ci![0]).toBeLessThan(0);
    // Per segment: one assignment segment here, equal to the pooled row.
    expect(result.rows.filter((r) => r.segment === 0).map((r) => r.estimate)).toEqual(pooled.map((r) => r.estimate));

    // The registered dataset evaluates again as exported, without a new export.
    const before = await deps.prisma.evaluationDataset.count();
    const again = await runEvaluation(d(), request({ kind: 'window', experiment: key, window: '7d', step: '1d', segments: true, dataset: result.dataset.id }));
    expect(again.datasetId).toBe(result.dataset.id);
    expect(again.result.kind === 'window' && again.result.rows).toEqual(result.rows);
    expect(await deps.prisma.evaluationDataset.count()).toBe(before);
    const other = await runEvaluation(d(), request({ kind: 'window', experiment: (await seedExperiment(`shop-${uniqueSuffix()}`, 10)).key, dataset: result.dataset.id })).then(() => null, (e: unknown) => e);
    expect((other as EvaluationInputError).field).toBe('dataset');
  }, 240_000);

  it('estimates what each standard alternative would have earned, and names a bad arm', async () => {
    const { key, truth } = await seedExperiment(`shop-${uniqueSuffix()}`);
    const { runId, result } = await runAndRecord(d(), request({ kind: 'policy', experiment: key, from: START.toISOString(), to: END.toISOString() }));
    if (result.kind !== 'policy') throw new Error('unexpected kind');
    expect(result.policies.map((p) => p.label)).toEqual(['current policy', 'uniform', 'always control', 'always treatment']);
    const est = (label: string, estimator: string) => result.policies.find((p) => p.label === label)!.evaluation.estimates.find((e) => e.estimator === estimator)!;
    for (const estimator of ['ips', 'snips', 'dr']) {
      const t = est('always treatment', estimator);
      expect(Math.abs(t.value - truth.treatment)).toBeLessThan(3 * t.standardError);
      const c = est('always control', estimator);
      expect(Math.abs(c.value - truth.control)).toBeLessThan(3 * c.standardError);
      // The logging policy ran 50/50: its "estimate" is the logged mean, with every weight 1.
      expect(est('current policy', estimator).effectiveSampleSize).toBeCloseTo(14 * 600, 6);
    }
    expect(result.policies[0]!.evaluation.warnings).toEqual([]);
    const stored = await deps.prisma.evaluationRun.findUniqueOrThrow({ where: { id: runId } });
    expect(stored.status).toBe('succeeded');
    expect(stored.datasetId).toBe(result.dataset.id);

    const bad = request({ kind: 'policy', experiment: key, policies: [{ kind: 'always', arm: 'nope' }] });
    const err = await runEvaluation(d(), bad).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(EvaluationInputError);
    expect((err as EvaluationInputError).field).toBe('policies.0.arm');
  }, 180_000);

  it('scopes a dataset to a model version: the comparisons it was an arm of', async () => {
    const entity = `ranker-${uniqueSuffix()}`;
    const version = `v-${uniqueSuffix()}`;
    const model = await deps.prisma.modelVersion.create({ data: { entity, modelType: 'ranker', version, uri: 's3://m', status: 'candidate' } });
    const key = `cmp-${uniqueSuffix()}`;
    const created = await createExperimentRow(deps.prisma, deps.redis, abExperiment(key, { entity }));
    // A comparison's challenger arm carries its model version (domain/models/comparison.ts).
    await deps.prisma.variant.updateMany({ where: { experimentId: created.id, key: 'treatment' }, data: { payload: { modelVersionId: model.id, version } } });
    await writeExposures(deps.pool, [{ experiment: key, unitId: `${key}-u1`, variant: 'treatment', propensity: 0.5, segment: 0, snapshotVersion: 1, context: {}, assignedAt: START.toISOString() }]);
    const { result } = await runEvaluation(d(), request({ kind: 'export', modelVersion: version, from: START.toISOString(), to: END.toISOString(), formats: ['parquet'] }));
    if (result.kind !== 'export') throw new Error('unexpected kind');
    expect(result.dataset.rowCount).toBe(1);
    expect(result.dataset.files.ndjson).toBeUndefined();
    const row = await deps.prisma.evaluationDataset.findUniqueOrThrow({ where: { id: result.dataset.id } });
    expect(row).toMatchObject({ modelVersion: version, entity, experimentKey: key });
  });

  it('rejects an unknown experiment or metric naming the field, and writes nothing', async () => {
    const before = await deps.prisma.evaluationDataset.count();
    for (const [req, field] of [
      [{ kind: 'window', experiment: `missing-${uniqueSuffix()}` }, 'experiment'],
      [{ kind: 'export', entity: `nobody-${uniqueSuffix()}` }, 'entity'],
    ] as const) {
      const err = await runEvaluation(d(), request(req)).then(() => null, (e: unknown) => e);
      expect((err as EvaluationInputError).field).toBe(field);
    }
    expect(await deps.prisma.evaluationDataset.count()).toBe(before);
    await expect(stat(dir).then(() => true)).resolves.toBe(true);
  });
});
