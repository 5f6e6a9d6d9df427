/**
 * bench:cycle (issue 8 proof): one full experiment cycle (every activity, on the real PostgreSQL
 * and Redis) at 100k and 1M unit-scoped events with 10k and 100k exposed units, timed per activity.
 * Cycle 1 aggregates every event (the worst case: the first cycle after the events arrived);
 * cycle 2 runs after 10% more events arrived and reads only those (the incremental aggregation).
 * Goals: a 1M-event cycle in ≤ 10 s; cycle-2 collect grows with new events, not with history;
 * segmentation stays flat in units (it samples at most `maxSample` units).
 * Statistics are as stale as they get: taken before each scale's data arrived, autovacuum off.
 * Runs on a database of its own (expflow_bench_cycle). Env: BENCH_SCALES ("100000x10000,...").
 * Prints a table and a final JSON line.
 */
import { at } from '../domain/at.js';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createActivities } from '../activities/index.js';
import { loadConfig } from '../config.js';
import { addDays, dayOf } from '../domain/storage/partition-plan.js';
import { createEventPartitions, partitionName } from '../infra/event-partitions.js';
import { createPrisma } from '../infra/prisma.js';
import { createQueues } from '../infra/queues.js';
import { createRedis } from '../infra/redis.js';
import { abExperiment, createExperimentRow } from '../test/helpers/fixtures.js';
import { freshBenchDatabase } from './lib/bench-db.js';

const SCALES = (process.env.BENCH_SCALES ?? '100000x10000,100000x100000,1000000x10000,1000000x100000').split(',').map((s) => {
  const [events, units] = s.split('x').map(Number);
  return { events: events!, units: units! };
});
const STEPS = ['collectData', 'segmentUnits', 'predictSignificance', 'reallocateTraffic', 'throttleOrTerminate', 'decide', 'notify'] as const;
type Step = (typeof STEPS)[number];

const base = loadConfig();
const databaseUrl = await freshBenchDatabase(base.databaseUrl, 'expflow_bench_cycle');
const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
const prisma = createPrisma(databaseUrl);
const redis = createRedis(base.redisUrl);
const bull = createRedis(base.redisUrl, { forBullmq: true });
const queues = createQueues(bull, { eventsQueue: `bench-cycle-${randomBytes(3).toString('hex')}` });
const acts = createActivities({ prisma, pool, redis, queues });
const today = dayOf(new Date());
const days = [addDays(today, -1), today];
await createEventPartitions(pool, days);
// Cycles run on statistics taken before the scale's units and events arrived, as a new
// experiment's first cycles can (autovacuum's ANALYZE trails a burst by a minute or more): the
// worst case for the planner. Autovacuum stays off here so the figures do not depend on its timing.
for (const table of ['Assignment', 'UnitEventAggregate', ...days.map(partitionName)]) await pool.query(`ALTER TABLE "${table}" SET (autovacuum_enabled = false)`);

/** Inserts `n` unit-scoped events (ids from `from`) spread over the experiment's units. */
async function seedEvents(prefix: string, units: number, from: number, n: number): Promise<void> {
  const chunk = 250_000;
  for (let start = from; start < from + n; start += chunk) {
    await pool.query(
      `INSERT INTO "Event" ("eventId", "unitId", name, value, "timestamp")
       SELECT $1 || '-e' || g, $1 || '-u' || ((g * 7919) % $2),
              CASE WHEN g % 10 < 2 THEN 'purchase' WHEN g % 10 = 2 THEN 'revenue' ELSE 'click' END,
              CASE WHEN g % 10 = 2 THEN (g % 50) + 0.5 ELSE 1 END,
              (now() AT TIME ZONE 'UTC') - interval '30 minutes'
       FROM generate_series($3::bigint, $4::bigint) g`,
      [prefix, units, start, Math.min(start + chunk, from + n) - 1],
    );
  }
}

async function runCycle(key: string, cycle: number): Promise<Record<Step, number>> {
  const ref = { experimentKey: key, cycle };
  const t: Partial<Record<Step, number>> = {};
  const time = async (step: Step, fn: () => Promise<unknown>) => {
    const t0 = performance.now();
    await fn();
    t[step] = (performance.now() - t0) / 1000;
  };
  await time('collectData', () => acts.collectData(ref));
  await time('segmentUnits', () => acts.segmentUnits(ref));
  await time('predictSignificance', () => acts.predictSignificance(ref));
  await time('reallocateTraffic', () => acts.reallocateTraffic({ ...ref, override: null, externalEvents: [] }));
  await time('throttleOrTerminate', () => acts.throttleOrTerminate(ref));
  await time('decide', () => acts.decide(ref));
  await time('notify', () => acts.notify(ref));
  return t as Record<Step, number>;
}

interface Result {
  events: number;
  units: number;
  cycle1: Record<Step, number> & { total: number };
  cycle2: Record<Step, number> & { total: number; newEvents: number };
}

const results: Result[] = [];
try {
  for (const { events, units } of SCALES) {
    const key = `cycle-${events}-${units}-${randomBytes(2).toString('hex')}`;
    await pool.query('ANALYZE');
    await createExperimentRow(prisma, redis, abExperiment(key, {
      metrics: [
        { key: 'purchase', event: 'purchase', type: 'binary', role: 'primary' },
        { key: 'revenue', event: 'revenue', type: 'continuous', role: 'secondary' },
      ],
      segmentation: { enabled: true, kMin: 2, kMax: 4, features: [{ name: 'clicks', event: 'click', agg: 'count' }, { name: 'revenue', event: 'revenue', agg: 'sum' }] },
    }));
    await pool.query(
      `INSERT INTO "Assignment" ("experimentId", "unitId", variant, propensity, segment, "snapshotVersion", context, "assignedAt")
       SELECT x.id, $1 || '-u' || g, CASE WHEN g % 2 = 0 THEN 'control' ELSE 'treatment' END, 0.5, 0, 1, '{}', (now() AT TIME ZONE 'UTC') - interval '1 hour'
       FROM generate_series(0, $2 - 1) g, "Experiment" x WHERE x.key = $1`,
      [key, units],
    );
    await seedEvents(key, units, 0, events);
    const c1 = await runCycle(key, 1);
    const newEvents = Math.round(events / 10);
    await seedEvents(key, units, events, newEvents);
    const c2 = await runCycle(key, 2);
    const total = (t: Record<Step, number>) => STEPS.reduce((a, s) => a + t[s], 0);
    results.push({ events, units, cycle1: { ...c1, total: total(c1) }, cycle2: { ...c2, total: total(c2), newEvents } });
    console.error(`[bench:cycle] ${events} events × ${units} units: cycle 1 ${total(c1).toFixed(2)} s, cycle 2 ${total(c2).toFixed(2)} s`);
  }
} finally {
  await queues.close();
  await prisma.$disconnect();
  await pool.end();
  redis.disconnect();
  bull.disconnect();
}

const short: Record<Step, string> = { collectData: 'collect', segmentUnits: 'segment', predictSignificance: 'predict', reallocateTraffic: 'realloc', throttleOrTerminate: 'throttle', decide: 'decide', notify: 'notify' };
const header = ['events', 'units', 'cycle', ...STEPS.map((s) => short[s]), 'total s'];
const lines = results.flatMap((r) => [
  [r.events.toLocaleString('en'), r.units.toLocaleString('en'), '1 (all)', ...STEPS.map((s) => r.cycle1[s].toFixed(2)), r.cycle1.total.toFixed(2)],
  ['', '', `2 (+${r.cycle2.newEvents.toLocaleString('en')})`, ...STEPS.map((s) => r.cycle2[s].toFixed(2)), r.cycle2.total.toFixed(2)],
]);
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => at(l, i, 'l').length)));
console.log('\nbench:cycle (seconds per activity)\n');
console.log(header.map((h, i) => h.padStart(at(widths, i, 'widths'))).join('  '));
for (const l of lines) console.log(l.map((c, i) => c.padStart(at(widths, i, 'widths'))).join('  '));

const resultAt = (e: number, u: number) => results.find((r) => r.events === e && r.units === u);
const worst1M = Math.max(...results.filter((r) => r.events === 1_000_000).map((r) => r.cycle1.total), 0);
// Incremental: cycle-2 collect at 1M vs 100k events (same units) should scale with the new events (10×), not worse.
const scaling = [10_000, 100_000].flatMap((u) => {
  const small = resultAt(100_000, u);
  const big = resultAt(1_000_000, u);
  return small && big ? [{ units: u, collect2Ratio: big.cycle2.collectData / small.cycle2.collectData }] : [];
});
const segFlat = [100_000, 1_000_000].flatMap((e) => {
  const a = resultAt(e, 10_000);
  const b = resultAt(e, 100_000);
  return a && b ? [{ events: e, segment10kUnits: a.cycle1.segmentUnits, segment100kUnits: b.cycle1.segmentUnits }] : [];
});
const goals = {
  oneMillionWithin10s: results.some((r) => r.events === 1_000_000) ? worst1M <= 10 : null,
  incrementalLinear: scaling.length ? scaling.every((s) => s.collect2Ratio <= 12) : null,
};
if (goals.oneMillionWithin10s !== null) console.log(`\n1M-event cycle (worst, cycle 1): ${worst1M.toFixed(2)} s (goal ≤ 10 s: ${goals.oneMillionWithin10s ? 'met' : 'MISSED'})`);
for (const s of scaling) console.log(`cycle-2 collect, 1M vs 100k events at ${s.units.toLocaleString('en')} units: ×${s.collect2Ratio.toFixed(1)} for ×10 new events`);
for (const s of segFlat) console.log(`segment at ${s.events.toLocaleString('en')} events: ${s.segment10kUnits.toFixed(2)} s (10k units) vs ${s.segment100kUnits.toFixed(2)} s (100k units)`);
console.log(JSON.stringify({ bench: 'cycle', results, scaling, segmentation: segFlat, goals }));
