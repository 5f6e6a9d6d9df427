/**
 * runCycle: the six steps of a cycle in one activity, on the real database. A retry after a crash
 * part-way resumes at the first step not yet stored (each step's output is stored once), and the
 * result is what the per-step activities return for the same cycle. An override re-applied after a
 * cycle keeps the arms the breaker stopped on control.
 */
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import type { PrismaClient } from '../../infra/prisma.js';
import { latestSnapshot } from '../../infra/snapshot-writer.js';
import { abExperiment, createExperimentRow, seedUnits } from '../helpers/fixtures.js';
import { uniqueSuffix } from '../helpers/services.js';
import { useActivities } from '../helpers/activity-deps.js';

const env = useActivities();
const { prisma, pool, redis } = env;
const STEPS = ['collect', 'segment', 'predict', 'reallocate', 'throttle', 'decide'];

async function seeded(name: string) {
  const key = `${name}-${uniqueSuffix()}`;
  const exp = await createExperimentRow(prisma, redis, abExperiment(key));
  await seedUnits(pool, { experiment: key, n: 400, variants: ['control', 'treatment'], rates: { control: 0.1, treatment: 0.2 }, seed: 11 });
  return { key, exp };
}

describe('runCycle', () => {
  it('resumes a cycle cut short after its second step, running each step once, and answers as the steps do', async () => {
    const { key, exp } = await seeded('run-cycle-resume');
    const ref = { experimentKey: key, cycle: 1 };
    // A worker died after collect and segment were stored.
    await env.acts.collectData(ref);
    await env.acts.segmentUnits(ref);
    const before = await prisma.cycleStats.findMany({ where: { experimentId: exp.id, cycle: 1 }, orderBy: { step: 'asc' } });
    expect(before.map((r) => r.step).sort()).toEqual(['collect', 'segment']);

    const result = await env.acts.runCycle({ ...ref, override: null, externalEvents: [] });

    const rows = await prisma.cycleStats.findMany({ where: { experimentId: exp.id, cycle: 1 } });
    expect(rows.map((r) => r.step).sort()).toEqual([...STEPS].sort());
    // The stored steps were not recomputed.
    for (const b of before) expect(rows.find((r) => r.step === b.step)?.createdAt).toEqual(b.createdAt);
    expect(await prisma.decision.count({ where: { experimentId: exp.id, cycle: 1 } })).toBe(1);
    // The per-step activities, asked again, return the same results from what is stored.
    expect(await env.acts.reallocateTraffic({ ...ref, override: null, externalEvents: [] })).toEqual(result.allocation);
    expect(await env.acts.throttleOrTerminate(ref)).toEqual(result.throttled);
    expect(await env.acts.decide(ref)).toEqual(result.decision);
    const snapshot = await latestSnapshot(prisma, exp.id);
    expect(snapshot?.version).toBe(Math.max(result.allocation.version, result.throttled.version ?? 0, result.decision.snapshot?.version ?? 0));
    // Run again (a retry after the activity completed but its result was lost): nothing new is written.
    const again = await env.acts.runCycle({ ...ref, override: null, externalEvents: [] });
    expect(again).toEqual(result);
    expect(await prisma.cycleStats.count({ where: { experimentId: exp.id, cycle: 1 } })).toBe(STEPS.length);
  });

  it('loads the experiment once for the six steps, not once per step', async () => {
    const { key, exp } = await seeded('run-cycle-loads');
    let loads = 0;
    // The same client, counting the experiment lookups the steps make (loadExperiment's findUnique).
    const counting = new Proxy(prisma, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (prop !== 'experiment') return value;
        const model = value as PrismaClient['experiment'];
        return new Proxy(model, {
          get(m, name, r) {
            const fn = Reflect.get(m, name, r) as unknown;
            if (name !== 'findUnique' || typeof fn !== 'function') return fn;
            return (...args: unknown[]) => {
              loads++;
              return (fn as (...a: unknown[]) => unknown).apply(m, args);
            };
          },
        });
      },
    });
    const acts = createActivities({ prisma: counting, pool, redis, queues: env.queues });
    const result = await acts.runCycle({ experimentKey: key, cycle: 1, override: null, externalEvents: [] });
    expect(loads).toBe(1);
    expect(await prisma.cycleStats.count({ where: { experimentId: exp.id, cycle: 1 } })).toBe(STEPS.length);
    expect(result.decision.outcome).toBeDefined();
  });

  it('publishes an override with the stopped arms kept on control', async () => {
    const { key, exp } = await seeded('override-stopped');
    const plain = await env.acts.publishOverride({ experimentKey: key, overrideSeq: 1, weights: { control: 0.3, treatment: 0.7 }, actor: 'ops', reason: 'test' });
    expect(plain.weights['0']).toEqual({ control: 0.3, treatment: 0.7 });
    const routed = await env.acts.publishOverride({ experimentKey: key, overrideSeq: 2, weights: { control: 0.3, treatment: 0.7 }, actor: 'ops', reason: 'test', stoppedArms: ['treatment'] });
    expect(routed.weights['0']).toEqual({ control: 1, treatment: 0 });
    expect((await latestSnapshot(prisma, exp.id))?.segments[0]?.weights).toEqual({ control: 1, treatment: 0 });
  });
});
