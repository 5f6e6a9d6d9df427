/**
 * Offline-evaluation benchmark (issue #11): the tracked export and a 7-day running window over
 * 1M exposures, against a plain `COPY (join) TO` of the same join, in the same run.
 *
 * Data: one two-arm experiment with N exposures spread evenly over 14 days (context: device,
 * tenure) and ~20% converting units, written by COPY FROM into a database of its own
 * (`<db>_bench`, migrated here) and reused by later runs when it already holds N exposures.
 * Measured:
 *   baseline   — `COPY (the export join) TO STDOUT (FORMAT csv)` streamed to a file: the least any
 *                export of this join can cost;
 *   export     — exportDataset: the same COPY, DuckDB load, canonical NDJSON + Parquet, SHA-256,
 *                registration;
 *   window     — 7-day windows stepping 1 day (8 windows) in DuckDB + the always-valid analysis.
 *
 *   npm run bench:evaluate [-- --exposures 1000000]
 */
import { at } from '../domain/at.js';
import { DuckDBInstance } from '@duckdb/node-api';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { evaluateRunningWindows, windowEnds } from '../domain/evaluation/running-window.js';
import { applyMigrations } from '../db/schema-engine.js';
import { loadConfig } from '../config.js';
import { exportDataset, exportQuery, resolveScope } from '../infra/evaluation-export.js';
import { windowCells } from '../infra/evaluation-window.js';
import { createPrisma } from '../infra/prisma.js';
import { createRng } from '../domain/rng.js';
import { dayOf } from '../domain/storage/partition-plan.js';
import { createEventPartitions } from '../infra/event-partitions.js';

const { values } = parseArgs({ options: { exposures: { type: 'string', default: '1000000' } } });
const N = Number(values.exposures);
if (!Number.isInteger(N) || N < 1000) {
  console.error('--exposures: give an integer ≥ 1000');
  process.exit(2);
}
const DAY = 86_400_000;
// The last 14 whole days: events older than the retention period are not stored.
const START = new Date(Math.floor(Date.now() / DAY) * DAY - 15 * DAY);
const KEY = `bench-evaluate-${N}-${START.toISOString().slice(0, 10)}`;
const END = new Date(START.getTime() + 14 * DAY);

const base = loadConfig().databaseUrl;
const url = new URL(base);
const benchDb = `${url.pathname.slice(1)}_bench`;
const admin = new pg.Client({ connectionString: base });
await admin.connect();
const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [benchDb]);
if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${benchDb}"`);
await admin.end();
url.pathname = `/${benchDb}`;
const dbUrl = url.toString();
await applyMigrations(dbUrl);
const pool = new pg.Pool({ connectionString: dbUrl, max: 4 });
const prisma = createPrisma(dbUrl);

async function copyIn(sql: string, lines: Iterable<string>) {
  const client = await pool.connect();
  try {
    await pipeline(Readable.from(lines), client.query(copyFrom(sql)));
  } finally {
    client.release();
  }
}

async function seed(): Promise<void> {
  const row = await prisma.experiment.findUnique({ where: { key: KEY } });
  if (row) {
    const n = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM "Assignment" WHERE "experimentId" = $1', [row.id]);
    if (at(n.rows, 0, 'rows').n === N) return;
    await prisma.experiment.delete({ where: { key: KEY } });
  }
  const t0 = performance.now();
  const exp = await prisma.experiment.create({
    data: {
      key: KEY,
      name: KEY,
      kind: 'ab',
      owner: 'bench',
      status: 'concluded',
      config: { metrics: [{ key: 'purchase', event: 'purchase', type: 'binary', role: 'primary' }], entity: 'bench' },
      variants: { create: [{ key: 'control', name: 'control', initialWeight: 0.5, isControl: true }, { key: 'treatment', name: 'treatment', initialWeight: 0.5 }] },
    },
  });
  await prisma.allocationSnapshot.create({
    data: { experimentId: exp.id, cycle: 0, step: 'initial', version: 1, weights: { '0': { control: 0.5, treatment: 0.5 } }, snapshot: { segments: [{ id: 0, weights: { control: 0.5, treatment: 0.5 } }] }, reason: 'bench' },
  });
  const rng = createRng(7);
  const ts = (ms: number) => new Date(ms).toISOString();
  const conversions: string[] = [];
  function* exposures() {
    for (let i = 0; i < N; i++) {
      const at = START.getTime() + Math.floor((i / N) * 14 * DAY);
      const variant = rng() < 0.5 ? 'control' : 'treatment';
      const day = Math.floor((at - START.getTime()) / DAY);
      const p = variant === 'control' ? 0.2 : 0.2 + 0.05 * Math.exp(-day / 4);
      if (rng() < p) conversions.push(`b${i}\t${exp.id}\tu${i}\tpurchase\t1\t{}\t${ts(at + 3_600_000)}\n`);
      yield `${exp.id}\tu${i}\t${variant}\t0.5\t0\t1\t{"device":"${i % 3 ? 'android' : 'ios'}","tenure":${i % 30}}\t${ts(at)}\n`;
    }
  }
  await copyIn(`COPY "Assignment" ("experimentId", "unitId", variant, propensity, segment, "snapshotVersion", context, "assignedAt") FROM STDIN`, exposures());
  // Events are partitioned by day: the bench's days need their partitions before COPY.
  await createEventPartitions(pool, Array.from({ length: 16 }, (_, i) => dayOf(new Date(START.getTime() + i * DAY))));
  await copyIn(`COPY "Event" ("eventId", "experimentId", "unitId", name, value, context, "timestamp") FROM STDIN`, conversions);
  await pool.query('ANALYZE "Assignment"; ANALYZE "Event"');
  console.error(`[bench] seeded ${N} exposures and ${conversions.length} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

await seed();
const dir = join(tmpdir(), `expflow-bench-evaluate-${process.pid}`);
await mkdir(dir, { recursive: true });

// Baseline: the same join, straight out of Postgres to a file.
const [scoped] = await resolveScope(prisma, { experiment: KEY });
const t1 = performance.now();
{
  const client = await pool.connect();
  try {
    await client.query(`SET TIME ZONE 'UTC'; SET jit = off`);
    await pipeline(client.query(copyTo(`COPY (${exportQuery(scoped!, START, END)}) TO STDOUT (FORMAT csv)`)), createWriteStream(join(dir, 'baseline.csv')));
  } finally {
    client.release();
  }
}
const baselineS = (performance.now() - t1) / 1000;
const baselineBytes = (await stat(join(dir, 'baseline.csv'))).size;

// The tracked export: COPY → DuckDB → NDJSON + Parquet + hash + registration.
const duck = await DuckDBInstance.create(':memory:');
const t2 = performance.now();
const ds = await exportDataset({ prisma, pool }, { experiment: KEY, from: START, to: END }, { dir, duckdb: duck });
const exportS = (performance.now() - t2) / 1000;

// 7-day windows stepping one day over the 14 days, with the always-valid analysis.
const conn = await duck.connect();
const t3 = performance.now();
const ends = windowEnds(START, END, 7 * 86_400, 86_400);
const cells = await windowCells(conn, { experimentKey: KEY, control: 'control', contextual: false, ends, windowSeconds: 7 * 86_400 });
const rows = evaluateRunningWindows({
  windows: ends.map((end) => ({ end, cells: cells.get(end.toISOString()) ?? [] })),
  windowSeconds: 7 * 86_400,
  metrics: scoped!.metrics,
  control: 'control',
  variants: ['control', 'treatment'],
  alpha: 0.05,
});
const windowS = (performance.now() - t3) / 1000;
conn.closeSync();
duck.closeSync();

const sizes = { ndjson: (await stat(ds.files.ndjson!)).size, parquet: (await stat(ds.files.parquet!)).size };
const rate = (s: number) => Math.round(ds.rowCount / s);
const table = [
  ['step', 'seconds', 'rows/s', 'output'],
  ['baseline: COPY (join) TO csv', baselineS.toFixed(2), String(rate(baselineS)), `${(baselineBytes / 1e6).toFixed(1)} MB csv`],
  ['export: COPY → DuckDB → ndjson+parquet+sha256', exportS.toFixed(2), String(rate(exportS)), `${(sizes.ndjson / 1e6).toFixed(1)} MB ndjson, ${(sizes.parquet / 1e6).toFixed(1)} MB parquet`],
  ['7-day window, 1-day step (8 windows)', windowS.toFixed(2), String(rate(windowS)), `${rows.length} window × arm rows`],
];
const widths = at(table, 0, 'table').map((_, i) => Math.max(...table.map((r) => at(r, i, 'r').length)));
for (const [i, r] of table.entries()) {
  console.log(r.map((c, j) => c.padEnd(at(widths, j, 'widths'))).join('  '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
console.log(`\nrows ${ds.rowCount}, sha256 ${ds.contentHash}; effect first window ${rows[0]?.estimate.toFixed(4)} → last ${rows.at(-1)?.estimate.toFixed(4)}`);
console.log(
  JSON.stringify({
    bench: 'evaluate',
    exposures: N,
    rows: ds.rowCount,
    baselineSeconds: +baselineS.toFixed(3),
    exportSeconds: +exportS.toFixed(3),
    windowSeconds: +windowS.toFixed(3),
    baselineRowsPerSecond: rate(baselineS),
    exportRowsPerSecond: rate(exportS),
    windowRowsPerSecond: rate(windowS),
    exportOverBaseline: +(exportS / baselineS).toFixed(2),
    bytes: { baselineCsv: baselineBytes, ...sizes },
  }),
);
await rm(dir, { recursive: true, force: true });
await prisma.evaluationDataset.deleteMany({ where: { id: ds.id } });
await prisma.$disconnect();
await pool.end();
