/**
 * Collect → decide for a contextual experiment on real Postgres: cells are split by the treatment
 * share each unit was randomised with, the decision is not biased by pooling context leaves, and
 * the sample-ratio check expects the leaf shares, not the segment's weights.
 */
import { describe, expect, it } from 'vitest';
import type { CollectPayload } from '../../activities/collect.js';
import { writeEvents, writeExposures } from '../../infra/ingest.js';
import { abExperiment, createExperimentRow } from '../helpers/fixtures.js';
import { uniqueSuffix } from '../helpers/services.js';
import { useActivities } from '../helpers/activity-deps.js';

const env = useActivities();
const { prisma, pool, redis } = env;

const experiment = (key: string, policy: Record<string, unknown>) => abExperiment(key, { policy });

/**
 * A/A data as the contextual policy serves it, in the initial snapshot's period: leaf A (baseline
 * 10%) gives treatment 20% of its units, leaf B (baseline 30%) 50%. Exactly proportional counts and
 * rates, so any lift is pure pooling bias.
 */
async function seedLeaves(key: string, version: number) {
  const now = new Date().toISOString();
  const exposures = [];
  const events = [];
  let i = 0;
  for (const leaf of [{ share: 0.2, base: 0.1, units: 5000 }, { share: 0.5, base: 0.3, units: 5000 }]) {
    const nt = leaf.share * leaf.units;
    for (const [variant, n] of [['treatment', nt], ['control', leaf.units - nt]] as const) {
      for (let j = 0; j < n; j++, i++) {
        const unitId = `${key}-u${i}`;
        exposures.push({ experiment: key, unitId, variant, propensity: variant === 'treatment' ? leaf.share : 1 - leaf.share, segment: 0, snapshotVersion: version, context: { tenure: leaf.share }, assignedAt: now });
        if (j < Math.round(leaf.base * n)) events.push({ eventId: `${unitId}-conv`, experiment: key, unitId, name: 'purchase', value: 1, timestamp: now, context: {} });
      }
    }
  }
  for (let k = 0; k < exposures.length; k += 2000) await writeExposures(pool, exposures.slice(k, k + 2000));
  for (let k = 0; k < events.length; k += 2000) await writeEvents(pool, events.slice(k, k + 2000));
}

describe('contextual experiments: propensity strata', () => {
  it('collect splits cells by treatment share; decide neither ships the pooling bias nor alarms SRM', async () => {
    const key = `act-ctxstrata-${uniqueSuffix()}`;
    const exp = await createExperimentRow(prisma, redis, experiment(key, { kind: 'contextual', features: ['tenure'] }));
    const version = (await prisma.allocationSnapshot.findFirst({ where: { experimentId: exp.id }, orderBy: { version: 'desc' } }))!.version;
    await seedLeaves(key, version);
    const ref = { experimentKey: key, cycle: 1 };
    await env.acts.collectData(ref);
    const collected = (await prisma.cycleStats.findUnique({ where: { experimentId_cycle_step: { experimentId: exp.id, cycle: 1, step: 'collect' } } }))!.payload as unknown as CollectPayload;
    expect(collected.cells.map((c) => [c.variant, c.propensityStratum, c.moments.n])).toEqual([
      ['control', 0.2, 4000],
      ['control', 0.5, 2500],
      ['treatment', 0.2, 1000],
      ['treatment', 0.5, 2500],
    ]);
    await env.acts.segmentUnits(ref);
    const decision = await env.acts.decide(ref);
    expect(decision.outcome).toBe('continue');
    const stats = (await prisma.decision.findFirst({ where: { experimentId: exp.id } }))!.statistics as any;
    expect(stats.arms[0].estimate).toBeCloseTo(0, 9);
    expect(stats.srm.alarm).toBe(false);
    expect(stats.srm.expected[0]).toBeCloseTo(6500, 6);
  });

  it('a non-contextual experiment keeps its cells without a stratum', async () => {
    const key = `act-ctxnone-${uniqueSuffix()}`;
    const exp = await createExperimentRow(prisma, redis, experiment(key, { kind: 'fixed' }));
    const version = (await prisma.allocationSnapshot.findFirst({ where: { experimentId: exp.id }, orderBy: { version: 'desc' } }))!.version;
    await seedLeaves(key, version);
    await env.acts.collectData({ experimentKey: key, cycle: 1 });
    const collected = (await prisma.cycleStats.findUnique({ where: { experimentId_cycle_step: { experimentId: exp.id, cycle: 1, step: 'collect' } } }))!.payload as unknown as CollectPayload;
    expect(collected.cells).toHaveLength(2);
    expect(collected.cells.every((c) => !('propensityStratum' in c))).toBe(true);
  });
});
