/**
 * Report speed (issue #9 proof): an experiment with 1M events (200k units, 3 arms, 2 metrics,
 * 3 context attributes + a per-unit one, 8 days, 2 segments × 4 allocation periods) in the local
 * database. Side by side in one run:
 *   aggregates   the per-unit aggregates built from nothing (what ingest and the cycles maintain)
 *   rollup       the report rollup built from those aggregates (once; afterwards incremental)
 *   baseline     the decision's own cell aggregate (collectCellStats, what every cycle runs)
 *   reference    the report's cells computed from every unit and aggregate (what a cold report
 *                cost before the rollup: by day, hour, weekday and each context attribute)
 *   cold         GET /experiments/:key/report from a fresh service (no cache anywhere): rollup
 *                read + decisions, snapshots etc. + build
 *   after +1%    the same right after 10k new events and 2k new units arrived (the rollup is
 *                served as of its last refresh; the refresh runs off the request path)
 *   increment    that refresh: aggregates + rollup for the new rows (what the next cycle, or a
 *                report's background refresh, pays)
 * Goal: cold and after +1% ≤ 1000 ms. Median of 5 runs after a warm-up (increments: of 3 batches).
 * Prints a table and a final JSON line. Needs the local services (npm run bench:report).
 */
import { at } from '../domain/at.js';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../config.js';
import { cellDesignOf, collectCellStats } from '../infra/aggregates.js';
import { createPool } from '../infra/pg.js';
import { createPrisma } from '../infra/prisma.js';
import { loadReportCells } from '../infra/report-loader.js';
import { experimentAggregateSpec, refreshUnitAggregates } from '../infra/unit-aggregates.js';
import { loadExperiment } from '../infra/experiment-repo.js';
import { createEventPartitions } from '../infra/event-partitions.js';
import { dayOf } from '../domain/storage/partition-plan.js';
import { ReportService } from '../api/report-service.js';

const UNITS = Number(process.env.BENCH_UNITS ?? 200_000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const RUNS = 5;
const GOAL_MS = 1000;

const config = loadConfig();
const pool = createPool(config.databaseUrl, 4);
const prisma = createPrisma(config.databaseUrl);
const key = `bench-report-${randomUUID().slice(0, 8)}`;
const metrics = [
  { key: 'purchase', event: 'purchase', type: 'binary' as const, role: 'primary' as const, direction: 'increase' as const },
  { key: 'revenue', event: 'revenue', type: 'continuous' as const, role: 'guardrail' as const, direction: 'increase' as const },
];

async function seed(): Promise<string> {
  const exp = await prisma.experiment.create({
    data: {
      key,
      name: key,
      kind: 'multi_arm',
      owner: 'bench',
      status: 'running',
      config: { metrics, cycleIntervalSeconds: 300, hashVersion: 2 },
      variants: { create: ['control', 'b', 'c'].map((v, i) => ({ key: v, name: v, initialWeight: i === 0 ? 0.34 : 0.33, isControl: i === 0 })) },
    },
  });
  for (let v = 1; v <= 4; v++) {
    const weights = { control: 0.34, b: 0.33 + 0.02 * v, c: 0.33 - 0.02 * v };
    await prisma.allocationSnapshot.create({
      data: {
        experimentId: exp.id, cycle: v, step: v === 1 ? 'initial' : 'reallocate', version: v, reason: `bench period ${v}`, weights,
        snapshot: { phase: 'running', segments: [0, 1].map((id) => ({ id, status: 'active', coverage: 1, weights, centroid: null })) },
      },
    });
  }
  await createEventPartitions(pool, Array.from({ length: 10 }, (_, i) => dayOf(new Date(Date.UTC(2026, 10, 1 + i)))));
  // Units over 8 days; variant by hash so the arms follow the period's weights closely enough.
  await pool.query(
    `INSERT INTO "Assignment" ("experimentId", "unitId", variant, propensity, segment, "snapshotVersion", context, "assignedAt")
     SELECT $1, 'u' || i, (ARRAY['control','b','c'])[1 + (i % 3)], 0.33, i % 2, 1 + (i % 4),
            jsonb_build_object('country', (ARRAY['PT','US','DE','BR','IN'])[1 + (i % 5)], 'device', (ARRAY['ios','android','web'])[1 + (i % 7) % 3],
                               'weather', (ARRAY['sun','rain','snow','fog'])[1 + (i % 11) % 4], 'session', md5(i::text)),
            timestamp '2026-11-01' + (i % 8) * interval '1 day' + (i % 24) * interval '1 hour'
     FROM generate_series(1, $2) AS i`,
    [exp.id, UNITS],
  );
  const perUnit = EVENTS / UNITS;
  await pool.query(
    `INSERT INTO "Event" ("eventId", "experimentId", "unitId", name, value, timestamp)
     SELECT 'e' || j, $1, 'u' || (1 + (j % $2)), CASE WHEN j % 5 = 0 THEN 'purchase' ELSE 'revenue' END,
            CASE WHEN j % 5 = 0 THEN 1 ELSE 5 + (j % 17) END,
            timestamp '2026-11-01' + ((1 + (j % $2)) % 8) * interval '1 day' + ((1 + (j % $2)) % 24) * interval '1 hour' + interval '20 minutes'
     FROM generate_series(1, $3) AS j
     WHERE j % 5 <> 0 OR (1 + (j % $2)) % 3 <> 1 OR j % 10 < ${Math.max(1, Math.round(perUnit))}`,
    [exp.id, UNITS, EVENTS],
  );
  await pool.query('ANALYZE "Assignment"; ANALYZE "Event"');
  return exp.id;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return at(ms.sort((a, b) => a - b), Math.floor(RUNS / 2), 'timings');
}

async function once(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** Another `units` units and `events` events, as ingest would write them (new transactions). */
async function grow(id: string, batch: number, units: number, events: number): Promise<void> {
  const from = UNITS + batch * units;
  await pool.query(
    `INSERT INTO "Assignment" ("experimentId", "unitId", variant, propensity, segment, "snapshotVersion", context, "assignedAt")
     SELECT $1, 'u' || i, (ARRAY['control','b','c'])[1 + (i % 3)], 0.33, i % 2, 4,
            jsonb_build_object('country', (ARRAY['PT','US','DE','BR','IN'])[1 + (i % 5)], 'device', (ARRAY['ios','android','web'])[1 + (i % 7) % 3],
                               'weather', (ARRAY['sun','rain','snow','fog'])[1 + (i % 11) % 4], 'session', md5(i::text)),
            timestamp '2026-11-08' + (i % 24) * interval '1 hour'
     FROM generate_series($2::int + 1, $2::int + $3::int) AS i`,
    [id, from, units],
  );
  // Events for old and new units alike.
  await pool.query(
    `INSERT INTO "Event" ("eventId", "experimentId", "unitId", name, value, timestamp)
     SELECT 'x${batch}-' || j, $1, 'u' || (1 + ((j * 7919) % ($2::int + $3::int))), CASE WHEN j % 5 = 0 THEN 'purchase' ELSE 'revenue' END,
            CASE WHEN j % 5 = 0 THEN 1 ELSE 3 + (j % 11) END, timestamp '2026-11-08 23:30'
     FROM generate_series(1, $4::int) AS j`,
    [id, from, units, events],
  );
}

const id = await seed();
try {
  const counts = await pool.query<{ units: number; events: number }>(
    'SELECT (SELECT count(*)::int FROM "Assignment" WHERE "experimentId" = $1) AS units, (SELECT count(*)::int FROM "Event" WHERE "experimentId" = $1) AS events',
    [id],
  );
  const { units, events } = at(counts.rows, 0, 'rows');
  const exp = await loadExperiment(prisma, key);
  const spec = experimentAggregateSpec(exp);
  const design = cellDesignOf(exp);
  const aggregates = await once(() => refreshUnitAggregates(pool, id, { ...spec, report: undefined }));
  const rollup = await once(() => refreshUnitAggregates(pool, id, spec));
  const baseline = await time(() => collectCellStats(pool, id, metrics, design));
  const reference = await time(() => loadReportCells(pool, id, metrics, design));
  let size = 0;
  // A fresh service per request: nothing in any process's memory; background refresh off here
  // (timed on its own below).
  const report = () => async () => {
    const service = new ReportService(prisma, pool, { temporalUiUrl: config.temporalUiUrl, namespace: config.temporalNamespace, refreshAfterMs: Number.POSITIVE_INFINITY });
    size = JSON.stringify(await service.experimentReport(key)).length;
  };
  const cold = await time(report());
  const served: number[] = [];
  const refreshed: number[] = [];
  for (let b = 0; b < 3; b++) {
    await grow(id, b, 2000, 10_000);
    served.push(await once(report()));
    refreshed.push(await once(() => refreshUnitAggregates(pool, id, spec)));
  }
  const median3 = (xs: number[]) => xs.sort((a, b) => a - b)[1] ?? Number.NaN;
  const incremental = median3(served);
  const increment = median3(refreshed);
  const rows = [
    ['per-unit aggregates built from nothing (once)', aggregates],
    ['report rollup built from the aggregates (once)', rollup],
    ['baseline: decision cells (collectCellStats)', baseline],
    ['reference: report cells from every unit (before the rollup)', reference],
    ['GET report, cold (rollup read + build)', cold],
    ['GET report right after +10k events, +2k units', incremental],
    ['refresh of that increment (aggregates + rollup; next cycle or background)', increment],
  ] as const;
  console.log(`experiment ${key}: ${units} units, ${events} events`);
  console.log('| step | ms |\n|---|---|');
  for (const [name, ms] of rows) console.log(`| ${name} | ${ms.toFixed(0)} |`);
  const met = cold <= GOAL_MS && incremental <= GOAL_MS;
  console.log(`report JSON ${(size / 1024).toFixed(0)} KiB; cold ${(reference / cold).toFixed(1)}x faster than the reference; goal ≤ ${GOAL_MS} ms: ${met ? 'met' : 'NOT met'}`);
  console.log(JSON.stringify({
    bench: 'report', units, events, aggregatesMs: Math.round(aggregates), rollupBuildMs: Math.round(rollup), baselineMs: Math.round(baseline),
    referenceMs: Math.round(reference), coldMs: Math.round(cold), afterIncrementMs: Math.round(incremental), incrementRefreshMs: Math.round(increment), speedup: Math.round((reference / cold) * 10) / 10,
    reportBytes: size, goalMs: GOAL_MS, met,
  }));
} finally {
  if (process.env.BENCH_KEEP) console.log(`kept ${key} (${id})`);
  else await prisma.experiment.delete({ where: { id } });
  if (!process.env.BENCH_KEEP) await pool.query(`DELETE FROM "UnitEventAggregate" WHERE "experimentId" = $1`, [id]);
  await pool.end();
  await prisma.$disconnect();
}
