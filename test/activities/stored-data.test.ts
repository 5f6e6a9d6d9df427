/**
 * Stored JSON is parsed, not cast: a cycle payload, snapshot or experiment that does not parse (or
 * is missing) fails the activity with Temporal's non-retryable InvalidConfig failure, which the
 * workflow turns into a stop rather than retrying forever. infra/ itself throws a plain error.
 */
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { InvalidStoredDataError } from '../../infra/errors.js';
import { loadExperiment } from '../../infra/experiment-repo.js';
import { latestSnapshot } from '../../infra/snapshot-writer.js';
import { abExperiment, createExperimentRow, seedUnits } from '../helpers/fixtures.js';
import { uniqueSuffix } from '../helpers/services.js';
import { useActivities } from '../helpers/activity-deps.js';

const env = useActivities();
const { prisma, pool, redis } = env;

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => null,
    (e: unknown) => e,
  );
}

function expectPermanent(e: unknown, message: RegExp) {
  expect(e).toBeInstanceOf(ApplicationFailure);
  const f = e as ApplicationFailure;
  expect(f.nonRetryable).toBe(true);
  expect(f.type).toBe('InvalidConfig');
  expect(f.message).toMatch(message);
}

describe('stored data is parsed', () => {
  it('a missing experiment is a plain infra error, and a non-retryable failure from the activity', async () => {
    const key = `missing-${uniqueSuffix()}`;
    await expect(loadExperiment(prisma, key)).rejects.toBeInstanceOf(InvalidStoredDataError);
    expectPermanent(await failure(env.acts.collectData({ experimentKey: key, cycle: 1 })), /does not exist/);
  });

  it('a stored cycle payload that does not parse fails the next step without retries, naming the field', async () => {
    const key = `bad-payload-${uniqueSuffix()}`;
    const exp = await createExperimentRow(prisma, redis, abExperiment(key));
    await seedUnits(pool, { experiment: key, n: 200, variants: ['control', 'treatment'], rates: { control: 0.1, treatment: 0.2 }, seed: 3 });
    // A retried collect returns what is stored; a payload whose cells lost their moments is corrupt.
    await prisma.cycleStats.create({ data: { experimentId: exp.id, cycle: 1, step: 'collect', payload: { cells: [{ metric: 'conv', variant: 'control', segment: 0, period: 1 }], units: 1 } } });
    expectPermanent(await failure(env.acts.collectData({ experimentKey: key, cycle: 1 })), /collect payload of cycle 1 .* invalid at cells\.0\.moments/);
    expectPermanent(await failure(env.acts.predictSignificance({ experimentKey: key, cycle: 1 })), /invalid at cells\.0\.moments/);
  });

  it('non-finite numbers survive the JSON column as NaN, not as null', async () => {
    const key = `nan-payload-${uniqueSuffix()}`;
    const exp = await createExperimentRow(prisma, redis, abExperiment(key));
    // JSON.stringify wrote NaN as null.
    await prisma.cycleStats.create({
      data: { experimentId: exp.id, cycle: 1, step: 'collect', payload: { cells: [{ metric: 'conv', variant: 'control', segment: 0, period: 1, moments: { n: 3, sum: null, sumSquares: 1 } }], units: 3 } },
    });
    expect(await env.acts.collectData({ experimentKey: key, cycle: 1 })).toEqual({ units: 3, cells: 1 });
  });

  it('a stored snapshot that does not parse is a permanent fault', async () => {
    const key = `bad-snapshot-${uniqueSuffix()}`;
    const exp = await createExperimentRow(prisma, redis, abExperiment(key));
    const latest = await latestSnapshot(prisma, exp.id);
    expect(latest?.experimentKey).toBe(key);
    await prisma.allocationSnapshot.create({
      data: { experimentId: exp.id, cycle: 99, step: 'corrupt', version: (latest?.version ?? 0) + 1, weights: {}, snapshot: { ...latest, segments: 'nope' } as object, reason: 'corrupt' },
    });
    const e = await failure(latestSnapshot(prisma, exp.id));
    expect(e).toBeInstanceOf(InvalidStoredDataError);
    expect((e as Error).message).toMatch(/snapshot .* invalid at segments/);
  });
});
