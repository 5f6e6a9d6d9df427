/**
 * The experiment report on real Postgres and Redis, checked against `expflow analyze` on the same
 * counts: the cumulative always-valid estimate and interval, and the sample-ratio check with its
 * per-period expected counts. Plus the context breakdown, the report's cell cache, and the entity
 * report's view of a moment in time.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ReportService } from '../../api/report-service.js';
import { analyze, AnalyzeInputSchema } from '../../cli/analyze.js';
import { createPool } from '../../infra/pg.js';
import { createPrisma } from '../../infra/prisma.js';
import { createRedis } from '../../infra/redis.js';
import { abExperiment, createExperimentRow, seedUnits } from '../helpers/fixtures.js';
import { testConfig, uniqueSuffix, waitFor } from '../helpers/services.js';

const config = testConfig();
const prisma = createPrisma(config.databaseUrl);
const pool = createPool(config.databaseUrl);
const redis = createRedis(config.redisUrl);
const reports = new ReportService(prisma, pool, { temporalUiUrl: 'http://ui.example:8233/', namespace: 'default', refreshAfterMs: 0 });

afterAll(async () => {
  await prisma.$disconnect();
  await pool.end();
  redis.disconnect();
});

describe('experiment report', () => {
  it('agrees with expflow analyze on the same counts', async () => {
    const key = `report-${uniqueSuffix()}`;
    await createExperimentRow(prisma, redis, abExperiment(key));
    await seedUnits(pool, {
      experiment: key,
      n: 4000,
      variants: ['control', 'treatment'],
      rates: { control: 0.1, treatment: 0.14 },
      seed: 11,
      context: (i) => ({ country: ['PT', 'US', 'DE'][i % 3] as unknown as number, tier: i % 4 === 0 ? 1 : 0 }),
    });
    // Another suite's open transaction may hold the first refresh back: the next ones count them all.
    let report = await reports.experimentReport(key);
    await waitFor(async () => (report = await reports.experimentReport(key)).overall.cumulative.at(-1)?.units === 4000, { what: 'all units counted' });
    expect(report.experiment.workflowUrl).toBe(`http://ui.example:8233/namespaces/default/workflows/experiment-${key}`);
    const last = report.overall.cumulative.at(-1)!;
    expect(last.units).toBe(4000);
    const mean = (arm: string) => last.means.find((m) => m.arm === arm && m.metric === 'purchase')!;
    const input = AnalyzeInputSchema.parse({
      metric: { type: 'binary' },
      method: 'sequential',
      control: 'control',
      arms: ['control', 'treatment'].map((a) => ({ key: a, n: mean(a).n, sum: Math.round(mean(a).mean! * mean(a).n) })),
      periods: [{ weights: [0.5, 0.5], n: 4000 }],
    });
    const cli = analyze(input);
    const mine = last.arms.find((a) => a.arm === 'treatment' && a.metric === 'purchase')!;
    const theirs = cli.results[0]!;
    expect(mine.estimate).toBeCloseTo(theirs.estimate, 12);
    expect(mine.ci![0]).toBeCloseTo(theirs.ci![0], 10);
    expect(mine.ci![1]).toBeCloseTo(theirs.ci![1], 10);
    expect(mine.pValue).toBeCloseTo(theirs.pValue, 10);
    expect(report.srm.current.observed).toEqual(cli.srm.observed);
    expect(report.srm.current.pValue).toBeCloseTo(cli.srm.pValue, 12);
    // Per-period expected counts: the one period (snapshot 1) expects half of its units per arm.
    expect(report.srm.current.periods).toEqual([{ period: 1, segment: 0, weights: [0.5, 0.5], n: 4000, expected: [2000, 2000], observed: cli.srm.observed }]);

    const country = report.breakdown.factors.find((f) => f.factor === 'context.country')!;
    expect(country.values.map((v) => [v.value, v.units])).toEqual([['DE', 1333], ['PT', 1334], ['US', 1333]]);
    expect(report.breakdown.factors.map((f) => f.factor)).toEqual(['context.country', 'context.tier', 'hour', 'weekday']);
    expect(report.allocation.map((c) => c.kinds)).toEqual([['initial']]);
  });

  it('answers from the rollup and brings it up to date in the background', async () => {
    const key = `report-rollup-${uniqueSuffix()}`;
    await createExperimentRow(prisma, redis, abExperiment(key));
    await seedUnits(pool, { experiment: key, n: 200, variants: ['control', 'treatment'], rates: { control: 0.1, treatment: 0.1 }, seed: 2 });
    let first = await reports.experimentReport(key);
    await waitFor(async () => (first = await reports.experimentReport(key)).overall.cumulative.at(-1)?.units === 200, { what: 'the first 200 units' });
    // seedUnits names units by index: 400 more units than before (200 of them already exposed).
    await seedUnits(pool, { experiment: key, n: 400, variants: ['control', 'treatment'], rates: { control: 0.3, treatment: 0.3 }, seed: 3 });
    // This answer may still serve the rollup as it was; it starts a refresh that a later one shows.
    let second = await reports.experimentReport(key);
    await waitFor(async () => (second = await reports.experimentReport(key)).overall.cumulative.at(-1)?.units === 400, { what: 'the refreshed rollup' });
    expect(Date.parse(second.cellsComputedAt)).toBeGreaterThanOrEqual(Date.parse(first.cellsComputedAt));
    const purchases = await pool.query<{ n: number }>(
      `SELECT count(DISTINCT e."unitId")::int AS n FROM "Event" e JOIN "Assignment" a ON a."unitId" = e."unitId" JOIN "Experiment" x ON x.id = a."experimentId" WHERE x.key = $1 AND e.name = 'purchase'`,
      [key],
    );
    const converted = second.overall.cumulative.at(-1)!.means.filter((m) => m.metric === 'purchase').reduce((a, m) => a + Math.round(m.mean! * m.n), 0);
    expect(converted).toBe(purchases.rows[0]!.n);
  });
});

describe('entity report', () => {
  it('shows the entity’s experiments and champion as of a time', async () => {
    const entity = `shop-${uniqueSuffix()}`;
    const key = `entity-${uniqueSuffix()}`;
    await createExperimentRow(prisma, redis, abExperiment(key, { entity }));
    await seedUnits(pool, { experiment: key, n: 600, variants: ['control', 'treatment'], rates: { control: 0.2, treatment: 0.3 }, seed: 5 });
    const before = new Date(Date.now() - 3600_000);
    await prisma.modelVersion.create({ data: { entity, modelType: 'ranker', version: 'v1', uri: 's3://m/v1', status: 'champion' } });
    const now = await reports.entityReport(entity, new Date(Date.now() + 1000));
    expect(now.experiments.map((e) => [e.key, e.units])).toEqual([[key, 600]]);
    expect(now.traffic.map((t) => [t.variant, t.units])).toEqual([['control', 300], ['treatment', 300]]);
    expect(now.traffic.map((t) => t.share)).toEqual([0.5, 0.5]);
    expect(now.models).toMatchObject([{ modelType: 'ranker', champion: { version: 'v1' }, challengers: [] }]);
    // An hour earlier neither the experiment nor the model existed.
    const earlier = await reports.entityReport(entity, before);
    expect(earlier.experiments).toEqual([]);
    expect(earlier.models).toEqual([]);
  });
});
