/**
 * Report speed (issue #9 proof): an experiment with 1M events (200k units, 3 arms, 2 metrics,
 * 3 context attributes, 8 days, 2 segments × 4 allocation periods) in the local database, then
 *   baseline   the decision's own cell aggregate (collectCellStats, what every cycle runs)
 *   cells      the report's SQL aggregate (by day, hour, weekday and each context attribute)
 *   cold       GET /experiments/:key/report computing everything: loader + buildExperimentReport
 *   cached     GET /experiments/:key/report as served (ReportService: the SQL aggregate from its
 *              Redis cache, refreshed in the background; decisions, snapshots, alerts read fresh)
 * Goal: the report as served ≤ 1000 ms. Median of 5 runs after a warm-up. Prints a table and a
 * final JSON line.
 * Needs the local services (npm run bench:report brings them up).
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../config.js';
import { buildExperimentReport } from '../domain/report/experiment-report.js';
import { collectCellStats } from '../infra/aggregates.js';
import { createPool } from '../infra/pg.js';
import { createPrisma } from '../infra/prisma.js';
import { loadExperimentReportInput, loadReportCells } from '../infra/report-loader.js';
import { createRedis } from '../infra/redis.js';
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
  return ms.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
}

const id = await seed();
try {
  const counts = await pool.query<{ units: number; events: number }>(
    'SELECT (SELECT count(*)::int FROM "Assignment" WHERE "experimentId" = $1) AS units, (SELECT count(*)::int FROM "Event" WHERE "experimentId" = $1) AS events',
    [id],
  );
  const { units, events } = counts.rows[0]!;
  const design = { control: 'control', contextual: false, postStratify: [], attribution: { lookbackSeconds: 600, windowSeconds: null } };
  const baseline = await time(() => collectCellStats(pool, id, metrics, design));
  const cells = await time(() => loadReportCells(pool, id, metrics, design));
  let size = 0;
  const cold = await time(async () => {
    const input = await loadExperimentReportInput(prisma, pool, key, { now: new Date(), workflowUrl: null });
    size = JSON.stringify(buildExperimentReport(input)).length;
  });
  const redis = createRedis(config.redisUrl);
  const service = new ReportService(prisma, pool, redis, { temporalUiUrl: config.temporalUiUrl, namespace: config.temporalNamespace, cellsTtlMs: 600_000 });
  const report = await time(async () => JSON.stringify(await service.experimentReport(key)).length);
  redis.disconnect();
  const rows = [
    ['baseline: decision cells (collectCellStats)', baseline],
    ['report SQL aggregate (day/hour/weekday/context)', cells],
    ['GET report, cold (loader + build)', cold],
    ['GET report as served (cached aggregate + fresh rows)', report],
  ] as const;
  console.log(`experiment ${key}: ${units} units, ${events} events`);
  console.log('| step | median ms |\n|---|---|');
  for (const [name, ms] of rows) console.log(`| ${name} | ${ms.toFixed(0)} |`);
  console.log(`report JSON ${(size / 1024).toFixed(0)} KiB; goal ≤ ${GOAL_MS} ms: ${report <= GOAL_MS ? 'met' : 'NOT met'}`);
  console.log(JSON.stringify({ bench: 'report', units, events, baselineMs: Math.round(baseline), cellsMs: Math.round(cells), coldMs: Math.round(cold), reportMs: Math.round(report), reportBytes: size, goalMs: GOAL_MS, met: report <= GOAL_MS }));
} finally {
  await prisma.experiment.delete({ where: { id } });
  await pool.end();
  await prisma.$disconnect();
}
