/**
 * Activities against the real PostgreSQL and Redis: each step computes from SQL aggregates, writes
 * once per (experiment, cycle, step), and a retry writes nothing twice.
 */
import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { assign } from '../../domain/assignment/assign.js';
import { writeEvents } from '../../infra/ingest.js';
import { loadSnapshot, publishSnapshot } from '../../infra/snapshot-store.js';
import { abExperiment, createExperimentRow, seedUnits } from '../helpers/fixtures.js';
import { uniqueSuffix } from '../helpers/services.js';
import { useActivities } from '../helpers/activity-deps.js';

const env = useActivities();
const { prisma, pool, redis, bull } = env;

const baseExperiment = abExperiment;

describe('activities', () => {
  it('collect aggregates per variant in SQL and is idempotent per cycle', async () => {
    const key = `act-collect-${uniqueSuffix()}`;
    const exp = await createExperimentRow(prisma, redis, baseExperiment(key, {
      metrics: [
        { key: 'purchase', event: 'purchase', type: 'binary', role: 'primary' },
        { key: 'revenue', event: 'revenue', type: 'continuous', role: 'secondary' },
      ],
    }));
    await seedUnits(pool, { experiment: key, n: 1000, variants: ['control', 'treatment'], rates: { control: 0.1, treatment: 0.2 }, seed: 1, extra: (i) => (i % 10 === 0 ? [{ name: 'revenue', value: 2.5 }, { name: 'revenue', value: 1.5 }] : []) });
    const first = await env.acts.collectData({ experimentKey: key, cycle: 1 });
    expect(first.units).toBe(1000);

    const stored = await prisma.cycleStats.findUnique({ where: { experimentId_cycle_step: { experimentId: exp.id, cycle: 1, step: 'collect' } } });
    const cells = (stored!.payload as any).cells as Array<{ metric: string; variant: string; moments: { n: number; sum: number; sumSquares: number } }>;
    const direct = await pool.query<{ variant: string; conv: number }>(
      `SELECT a.variant, count(DISTINCT e."unitId")::int AS conv FROM "Assignment" a LEFT JOIN "Event" e ON e."unitId" = a."unitId" AND e.name = 'purchase' AND e."experimentId" = a."experimentId" WHERE a."experimentId" = $1 GROUP BY a.variant`,
      [exp.id],
    );
    for (const r of direct.rows) {
      const cell = cells.find((c) => c.metric === 'purchase' && c.variant === r.variant)!;
      expect(cell.moments).toEqual({ n: 500, sum: r.conv, sumSquares: r.conv });
    }
    // Revenue: units 0,10,20,… each have 4.0 in total; half of them are control (even i).
    const rev = cells.filter((c) => c.metric === 'revenue');
    expect(rev.reduce((a, c) => a + c.moments.sum, 0)).toBeCloseTo(100 * 4, 9);
    expect(rev.reduce((a, c) => a + c.moments.sumSquares, 0)).toBeCloseTo(100 * 16, 9);

    // New data after the step ran does not change a retried step's output.
    await writeEvents(pool, [{ eventId: `${key}-late`, experiment: key, unitId: `${key}-u1`, name: 'purchase', value: 1, timestamp: new Date().toISOString(), context: {} }]);
    const retry = await env.acts.collectData({ experimentKey: key, cycle: 1 });
    expect(retry).toEqual(first);
    expect(await prisma.cycleStats.count({ where: { experimentId: exp.id } })).toBe(1);
  });

  it('runs a whole cycle, writes one snapshot and one decision, and retries write nothing twice', async () => {
    const key = `act-cycle-${uniqueSuffix()}`;
    const exp = await createExperimentRow(prisma, redis, baseExperiment(key, { webhookUrl: 'http://127.0.0.1:9/hook', bounds: { floor: 0.1, max: 0.9, maxChange: 0.3 } }));
    await seedUnits(pool, { experiment: key, n: 6000, variants: ['control', 'treatment'], rates: { control: 0.1, treatment: 0.18 }, seed: 2 });
    const ref = { experimentKey: key, cycle: 1 };
    const runCycle = async () => {
      await env.acts.collectData(ref);
      await env.acts.segmentUnits(ref);
      await env.acts.predictSignificance(ref);
      const alloc = await env.acts.reallocateTraffic({ ...ref, override: null, externalEvents: [] });
      await env.acts.throttleOrTerminate(ref);
      const decision = await env.acts.decide(ref);
      const notified = await env.acts.notify(ref);
      return { alloc, decision, notified };
    };
    const a = await runCycle();
    const b = await runCycle();
    expect(b).toEqual(a);
    expect(a.decision.outcome).toBe('ship');
    expect(a.decision.winner).toBe('treatment');
    // Thompson moved weight toward the better arm, within maxChange of the initial 0.5.
    expect(a.alloc.weights['0']!.treatment).toBeCloseTo(0.8, 6);

    expect(await prisma.allocationSnapshot.count({ where: { experimentId: exp.id, cycle: 1 } })).toBe(1);
    expect(await prisma.decision.count({ where: { experimentId: exp.id } })).toBe(1);
    const notifications = await prisma.notification.findMany({ where: { decision: { experimentId: exp.id } } });
    expect(notifications).toHaveLength(1);
    const job = await new Queue(env.config.notificationsQueue, { connection: bull }).getJob(notifications[0]!.idempotencyKey);
    expect(job?.data.body).toMatchObject({ experiment: key, outcome: 'ship', winner: 'treatment' });

    // The published snapshot is the one stored, and Redis never goes back to an older version.
    const snap = (await loadSnapshot(redis, key))!;
    expect(snap.version).toBe(a.alloc.version);
    expect(await publishSnapshot(redis, { ...snap, version: snap.version - 1, reason: 'stale retry' })).toBe(false);
    expect((await loadSnapshot(redis, key))!.reason).toBe(snap.reason);

    const decision = await prisma.decision.findFirst({ where: { experimentId: exp.id } });
    const stats = decision!.statistics as any;
    expect(stats.srm.alarm).toBe(false);
    expect(stats.arms[0]).toMatchObject({ arm: 'treatment', metric: 'purchase', better: true });
  });

  it('segments units on behaviour, keeps ids stable, persists memberships and centroids', async () => {
    const key = `act-seg-${uniqueSuffix()}`;
    const exp = await createExperimentRow(prisma, redis, baseExperiment(key, {
      segmentation: { enabled: true, kMin: 2, kMax: 4, features: [{ name: 'clicks', event: 'click', agg: 'count' }, { name: 'dwell', event: 'dwell', agg: 'sum' }], contextFeatures: ['sessions'], minSegmentSize: 10 },
    }));
    // Two planted behaviour clusters: light users (1 click, 3–8 s) and heavy users (8 clicks, 100–140 s),
    // with dwell spread continuously inside each so no sub-cluster is planted by accident.
    const spread = (i: number) => ((i * 7919) % 1000) / 1000;
    const heavy = (i: number) => i % 3 === 0;
    await seedUnits(pool, {
      experiment: key, n: 900, variants: ['control', 'treatment'], rates: { control: 0.1, treatment: 0.1 }, seed: 3,
      context: (i) => ({ sessions: heavy(i) ? 20 + (i % 5) : 2 + (i % 3) }),
      extra: (i) => (heavy(i)
        ? [...Array.from({ length: 8 }, () => ({ name: 'click', value: 1 })), { name: 'dwell', value: 100 + 40 * spread(i) }]
        : [{ name: 'click', value: 1 }, { name: 'dwell', value: 3 + 5 * spread(i) }]),
    });
    const first = await env.acts.segmentUnits({ experimentKey: key, cycle: 1 });
    expect(first.k).toBe(2);
    const sizes = Object.values(first.sizes).sort((x, y) => x - y);
    expect(sizes).toEqual([300, 600]);
    const memberships = await pool.query<{ heavy: boolean; seg: number }>(
      `SELECT (split_part("unitId", '-u', 2)::int % 3 = 0) AS heavy, "segmentId" AS seg FROM "SegmentMembership" WHERE "experimentId" = $1 GROUP BY 1, 2`,
      [exp.id],
    );
    expect(memberships.rows).toHaveLength(2); // each planted cluster maps to exactly one segment
    const second = await env.acts.segmentUnits({ experimentKey: key, cycle: 2 });
    expect(second.sizes).toEqual(first.sizes); // same ids for the same clusters
    const rows = await prisma.segment.findMany({ where: { experimentId: exp.id }, orderBy: { segmentId: 'asc' } });
    expect(rows.map((r) => r.size).sort((x, y) => x - y)).toEqual([300, 600]);
    expect((rows[0]!.centroid as any).context).toHaveLength(1);
    expect((rows[0]!.centroid as any).behaviour).toHaveLength(3); // clicks, dwell, engagement

    // Reallocation carries the context centroids so the API can place new units.
    await env.acts.collectData({ experimentKey: key, cycle: 2 });
    await env.acts.predictSignificance({ experimentKey: key, cycle: 2 });
    await env.acts.reallocateTraffic({ experimentKey: key, cycle: 2, override: null, externalEvents: [] });
    const snap = (await loadSnapshot(redis, key))!;
    expect(snap.segmentFeatures.map((f) => f.name)).toEqual(['sessions']);
    expect(snap.segments).toHaveLength(2);
    expect(snap.segments.every((s) => s.centroid?.length === 1)).toBe(true);
  });

  it('dampens test allocation after an external event', async () => {
    const key = `act-damp-${uniqueSuffix()}`;
    await createExperimentRow(prisma, redis, baseExperiment(key, { policy: { kind: 'fixed' } }));
    await seedUnits(pool, { experiment: key, n: 400, variants: ['control', 'treatment'], rates: { control: 0.1, treatment: 0.1 }, seed: 4 });
    await env.acts.collectData({ experimentKey: key, cycle: 1 });
    await env.acts.segmentUnits({ experimentKey: key, cycle: 1 });
    const r = await env.acts.reallocateTraffic({ experimentKey: key, cycle: 1, override: null, externalEvents: [{ kind: 'bad-press', severity: 0.5, at: new Date().toISOString() }] });
    expect(r.weights['0']!.treatment).toBeCloseTo(0.25, 2);
    expect(r.weights['0']!.control).toBeCloseTo(0.75, 2);
  });

  it('fits the contextual risk model and serves less treatment where treatment harms', async () => {
    const key = `act-ctx-${uniqueSuffix()}`;
    await createExperimentRow(prisma, redis, baseExperiment(key, {
      policy: { kind: 'contextual', features: ['tenure'], baseline: 0.5, adjustmentRange: 0.4, riskTolerance: 0 },
      bounds: { floor: 0.05, max: 0.95, maxChange: 0.5 },
    }));
    // New users (tenure < 5) are hurt by treatment (8% vs 20%); established users gain (30% vs 20%).
    // Units come in blocks of four (two per arm), and a whole block shares its tenure group.
    const block = (i: number) => Math.floor(i / 4);
    const tenure = (i: number) => (block(i) % 2 === 0 ? 1 + (block(i) % 4) : 10 + (block(i) % 7));
    await seedUnits(pool, {
      experiment: key, n: 4000, variants: ['control', 'control', 'treatment', 'treatment'], rates: { control: 0.2, treatment: 0.2 }, seed: 5,
      context: (i) => ({ tenure: tenure(i) }),
    });
    // Re-plant outcomes by context: drop the uniform conversions and write context-dependent ones.
    await pool.query(`DELETE FROM "Event" WHERE "unitId" LIKE $1`, [`${key}-%`]);
    const events = [];
    for (let i = 0; i < 4000; i++) {
      const treated = i % 4 >= 2;
      const rate = tenure(i) < 5 ? (treated ? 0.08 : 0.2) : treated ? 0.3 : 0.2;
      if (((i * 2654435761) >>> 0) / 4294967296 < rate) events.push({ eventId: `${key}-c${i}`, experiment: key, unitId: `${key}-u${i}`, name: 'purchase', value: 1, timestamp: new Date().toISOString(), context: {} });
    }
    await writeEvents(pool, events);
    await env.acts.collectData({ experimentKey: key, cycle: 1 });
    await env.acts.segmentUnits({ experimentKey: key, cycle: 1 });
    await env.acts.reallocateTraffic({ experimentKey: key, cycle: 1, override: null, externalEvents: [] });
    const snap = (await loadSnapshot(redis, key))!;
    expect(snap.contextual?.features).toEqual(["tenure"]);
    expect(snap.reason).toMatch(/contextual model: \d+ contexts/);
    const newUser = assign('probe-a', snap, { tenure: 2 });
    const veteran = assign('probe-b', snap, { tenure: 12 });
    const share = (a: typeof newUser) => (a.variant === 'treatment' ? a.propensity : 1 - a.propensity);
    expect(newUser.reason).toBe('contextual');
    expect(share(newUser)).toBeLessThanOrEqual(0.15);
    expect(share(veteran)).toBeGreaterThanOrEqual(0.85);
    expect(share(newUser)).toBeGreaterThanOrEqual(0.05); // never below the exploration floor
  });

  it('adds the predicted-conversion feature and clusters with DBSCAN when configured', async () => {
    const key = `act-dbscan-${uniqueSuffix()}`;
    const exp = await createExperimentRow(prisma, redis, baseExperiment(key, {
      segmentation: {
        enabled: true, mode: 'dbscan', dbscan: { eps: 0.8, minPoints: 10 }, conversionEvent: 'purchase',
        features: [{ name: 'clicks', event: 'click', agg: 'count' }, { name: 'dwell', event: 'dwell', agg: 'sum' }], minSegmentSize: 10,
      },
    }));
    const spread = (i: number) => ((i * 7919) % 1000) / 1000;
    await seedUnits(pool, {
      experiment: key, n: 600, variants: ['control', 'treatment'], rates: { control: 0.1, treatment: 0.1 }, seed: 6,
      extra: (i) => (i % 2 === 0
        ? [...Array.from({ length: 8 }, () => ({ name: 'click', value: 1 })), { name: 'dwell', value: 100 + 40 * spread(i) }]
        : [{ name: 'click', value: 1 }, { name: 'dwell', value: 3 + 5 * spread(i) }]),
    });
    const r = await env.acts.segmentUnits({ experimentKey: key, cycle: 1 });
    expect(r.k).toBe(2);
    const rows = await prisma.segment.findMany({ where: { experimentId: exp.id } });
    expect((rows[0]!.centroid as any).behaviour).toHaveLength(4); // clicks, dwell, engagement, P(conversion)
  });

  it('serves a segment its winner once it concludes on its own, and stops applying segment rules to it', async () => {
    const key = `act-segwin-${uniqueSuffix()}`;
    const exp = await createExperimentRow(prisma, redis, baseExperiment(key, {
      segmentation: { enabled: true, kMin: 2, kMax: 3, features: [{ name: 'clicks', event: 'click', agg: 'count' }, { name: 'dwell', event: 'dwell', agg: 'sum' }], minSegmentSize: 10 },
      minSamplePerArm: 50,
    }));
    const heavy = (i: number) => i % 2 === 0;
    const spread = (i: number) => ((i * 7919) % 1000) / 1000;
    await seedUnits(pool, {
      experiment: key, n: 1200, variants: ['control', 'control', 'treatment', 'treatment'], rates: { control: 0, treatment: 0 }, seed: 7,
      extra: (i) => (heavy(i)
        ? [...Array.from({ length: 8 }, () => ({ name: 'click', value: 1 })), { name: 'dwell', value: 100 + 40 * spread(i) }]
        : [{ name: 'click', value: 1 }, { name: 'dwell', value: 3 + 5 * spread(i) }]),
    });
    // Treatment lifts heavy users from 10% to 60%; light users convert at 10% either way.
    const events = [];
    for (let i = 0; i < 1200; i++) {
      const treated = i % 4 >= 2;
      const rate = heavy(i) && treated ? 0.6 : 0.1;
      if (((i * 2654435761) >>> 0) / 4294967296 < rate) events.push({ eventId: `${key}-c${i}`, experiment: key, unitId: `${key}-u${i}`, name: 'purchase', value: 1, timestamp: new Date().toISOString(), context: {} });
    }
    await writeEvents(pool, events);
    const ref1 = { experimentKey: key, cycle: 1 };
    await env.acts.segmentUnits(ref1);
    // Units were placed in their behavioural segment at assignment, as the snapshot's centroids would.
    await pool.query(`UPDATE "Assignment" a SET segment = m."segmentId" FROM "SegmentMembership" m WHERE m."experimentId" = a."experimentId" AND m."unitId" = a."unitId" AND a."experimentId" = $1`, [exp.id]);
    const heavySegment = (await pool.query<{ seg: number }>(`SELECT "segmentId" AS seg FROM "SegmentMembership" WHERE "experimentId" = $1 AND "unitId" = $2`, [exp.id, `${key}-u0`])).rows[0]!.seg;
    await env.acts.collectData(ref1);
    await env.acts.predictSignificance(ref1);
    await env.acts.reallocateTraffic({ ...ref1, override: null, externalEvents: [] });
    await env.acts.throttleOrTerminate(ref1);
    const decision = await env.acts.decide(ref1);
    expect(decision.segmentConclusions).toBe(1);
    expect(decision.rationale).toMatch(new RegExp(`segment ${heavySegment} treatment: better, ship`));
    // τ of each segment × arm mSPRT is fixed at its first look and carried with the running minima.
    const decided = (await prisma.cycleStats.findUnique({ where: { experimentId_cycle_step: { experimentId: exp.id, cycle: 1, step: 'decide' } } }))!.payload as any;
    expect(Object.keys(decided.segmentTau).sort()).toEqual(Object.keys(decided.segmentPMin).sort());
    expect(Object.keys(decided.segmentPMin)).toContain(`${heavySegment}:treatment`);

    const ref2 = { experimentKey: key, cycle: 2 };
    await env.acts.collectData(ref2);
    await env.acts.segmentUnits(ref2);
    await env.acts.predictSignificance(ref2);
    const alloc = await env.acts.reallocateTraffic({ ...ref2, override: null, externalEvents: [] });
    expect(alloc.weights[String(heavySegment)]).toEqual({ control: 0, treatment: 1 });
    const others = Object.entries(alloc.weights).filter(([id]) => id !== String(heavySegment));
    expect(others.length).toBeGreaterThan(0);
    for (const [, w] of others) expect(w.control).toBeGreaterThan(0); // still experimenting
    await env.acts.throttleOrTerminate(ref2);
    const throttle = await prisma.cycleStats.findUnique({ where: { experimentId_cycle_step: { experimentId: exp.id, cycle: 2, step: 'throttle' } } });
    expect((throttle!.payload as any).results.map((r: { id: number }) => r.id)).not.toContain(heavySegment);
    const realloc = await prisma.allocationSnapshot.findUnique({ where: { experimentId_cycle_step: { experimentId: exp.id, cycle: 2, step: 'reallocate' } } });
    expect(realloc!.reason).toMatch(new RegExp(`segment ${heavySegment} concluded: ship treatment`));
    // Whatever throttling did to other segments, the concluded one still serves its winner.
    const served = (await loadSnapshot(redis, key))!.segments.find((s) => s.id === heavySegment)!;
    expect(served).toMatchObject({ status: 'active', weights: { control: 0, treatment: 1 } });
    await env.acts.decide(ref2);
    const decided2 = (await prisma.cycleStats.findUnique({ where: { experimentId_cycle_step: { experimentId: exp.id, cycle: 2, step: 'decide' } } }))!.payload as any;
    for (const [k, tau] of Object.entries(decided.segmentTau)) expect(decided2.segmentTau[k]).toBe(tau);
    for (const [k, p] of Object.entries(decided.segmentPMin)) expect(decided2.segmentPMin[k]).toBeLessThanOrEqual(p as number);
  });

  it('counts only events inside the attribution window and post-stratifies on the randomisation strata', async () => {
    const key = `act-attr-${uniqueSuffix()}`;
    const exp = await createExperimentRow(prisma, redis, baseExperiment(key, {
      metrics: [{ key: 'revenue', event: 'revenue', type: 'continuous', role: 'primary' }],
      attribution: { lookbackSeconds: 600, windowHours: 1 },
      randomization: { type: 'stratified', strata: ['platform'] },
    }));
    await seedUnits(pool, { experiment: key, n: 4, variants: ['control', 'treatment'], rates: { control: 0, treatment: 0 }, seed: 8, context: (i) => ({ platform: i < 2 ? 'ios' : 'android' } as never) });
    const at = (await pool.query<{ t: Date }>(`SELECT "assignedAt" AS t FROM "Assignment" WHERE "experimentId" = $1 LIMIT 1`, [exp.id])).rows[0]!.t.getTime();
    const ev = (i: number, j: string, offsetSeconds: number, value: number) => ({ eventId: `${key}-${i}-${j}`, experiment: key, unitId: `${key}-u${i}`, name: 'revenue', value, timestamp: new Date(at + offsetSeconds * 1000).toISOString(), context: {} });
    await writeEvents(pool, [
      ev(0, 'before', -2 * 86_400, 100), // two days before exposure: not caused by it
      ev(0, 'skew', -120, 1), // two minutes early: clock skew, counted
      ev(0, 'in', 1800, 2), // within the hour: counted
      ev(0, 'late', 3 * 3600, 1000), // after the window: not counted
      ev(2, 'in', 60, 5),
    ]);
    await env.acts.collectData({ experimentKey: key, cycle: 1 });
    const stored = await prisma.cycleStats.findUnique({ where: { experimentId_cycle_step: { experimentId: exp.id, cycle: 1, step: 'collect' } } });
    const cells = (stored!.payload as { cells: Array<{ variant: string; stratum?: string; moments: { n: number; sum: number } }> }).cells;
    const cell = (variant: string, stratum: string) => cells.find((c) => c.variant === variant && c.stratum === stratum)!.moments;
    expect(cell('control', 'ios')).toMatchObject({ n: 1, sum: 3 }); // unit 0: 1 + 2
    expect(cell('control', 'android')).toMatchObject({ n: 1, sum: 5 }); // unit 2
    expect(cell('treatment', 'ios')).toMatchObject({ n: 1, sum: 0 });
    expect(cell('treatment', 'android')).toMatchObject({ n: 1, sum: 0 });
  });
});
