/**
 * bench:ingest (issue 8 proof): 500k unit-scoped events posted over HTTP in batches of 1000 from
 * several connections to the real API process, drained by the real ingest worker process into the
 * partitioned Event table (with dedupe). Sustained events/s is measured from the first request to
 * the moment the last batch is committed in Postgres. In the same run, the same rows go through a
 * raw COPY into a plain table with the same indexes: the ceiling.
 * Checks: rows = accepted, no duplicates, no loss. Goals: ≥ 0.25× raw COPY and ≥ 20k events/s.
 * Runs on a database of its own (expflow_bench) and a queue of its own. Needs the local services.
 * Env: BENCH_EVENTS (500000), BENCH_BATCH (1000), BENCH_CONNECTIONS (8), INGEST_CONCURRENCY (8).
 * Prints a table and a final JSON line.
 */
import { at } from '../domain/at.js';
import { Queue } from 'bullmq';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { loadConfig } from '../config.js';
import { createRedis } from '../infra/redis.js';
import { freshBenchDatabase } from './lib/bench-db.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 500_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const UNITS = 100_000;
const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = `${root}node_modules/tsx/dist/cli.mjs`;

const base = loadConfig();
const run = randomBytes(3).toString('hex');
const queueName = `bench-ingest-${run}`;

function startChild(script: string, env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, [tsx, script], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = ready.exec(out);
      if (m) resolve({ child, match: m });
    });
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before it was ready`)));
  });
}

interface Ev {
  eventId: string;
  unitId: string;
  name: string;
  value: number;
  timestamp: string;
  properties: Record<string, unknown>;
}

function makeEvents(): Ev[] {
  const names = ['page_view', 'click', 'purchase'];
  const t0 = Date.now() - 3_600_000;
  return Array.from({ length: EVENTS }, (_, i) => ({
    eventId: `${run}-${i}`,
    unitId: `u${(i * 2654435761) % UNITS}`,
    name: at(names, i % 3, 'names'),
    value: i % 3 === 2 ? (i % 97) + 0.5 : 1,
    timestamp: new Date(t0 + (i % 3_600_000)).toISOString(),
    properties: { plan: i % 2 ? 'pro' : 'free' },
  }));
}

async function postAll(url: string, bodies: string[]): Promise<{ accepted: number; rejected: number; retries429: number }> {
  let next = 0;
  let accepted = 0;
  let rejected = 0;
  let retries429 = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= bodies.length) return;
      for (;;) {
        const res = await fetch(`${url}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[i] });
        const json = (await res.json()) as { accepted?: number; rejected?: unknown[] };
        if (res.status === 429) {
          retries429++;
          await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after') ?? 1)));
          continue;
        }
        if (res.status !== 202) throw new Error(`POST /events answered ${res.status}: ${JSON.stringify(json)}`);
        accepted += json.accepted ?? 0;
        rejected += json.rejected?.length ?? 0;
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  return { accepted, rejected, retries429 };
}

async function rawCopy(pool: pg.Pool, events: Ev[]): Promise<number> {
  await pool.query(`CREATE TABLE copy_baseline (LIKE "Event" INCLUDING DEFAULTS INCLUDING INDEXES)`);
  const client = await pool.connect();
  try {
    const t0 = performance.now();
    const stream = client.query(copyFrom(`COPY copy_baseline ("eventId", "unitId", name, value, properties, context, "timestamp") FROM STDIN WITH (FORMAT csv)`));
    const csv = (e: Ev) => `${e.eventId},${e.unitId},${e.name},${e.value},"${JSON.stringify(e.properties).replace(/"/g, '""')}",{},${e.timestamp}\n`;
    async function* lines() {
      for (let i = 0; i < events.length; i += 5000) yield events.slice(i, i + 5000).map(csv).join('');
    }
    await pipeline(Readable.from(lines()), stream);
    return (performance.now() - t0) / 1000;
  } finally {
    client.release();
  }
}

const databaseUrl = await freshBenchDatabase(base.databaseUrl);
const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
const bull = createRedis(base.redisUrl, { forBullmq: true });
const queue = new Queue(queueName, { connection: bull });
const childEnv = { DATABASE_URL: databaseUrl, EVENTS_QUEUE: queueName, API_PORT: '0', EVENTS_MAX_QUEUE_DEPTH: '2000', STORAGE_MAINTENANCE_SCHEDULE: 'off', EXPOSURE_SPOOL_DIR: `/tmp/expflow-bench-spool-${run}` };
const children: ChildProcess[] = [];
try {
  const worker = await startChild('bench/lib/ingest-worker-process.ts', childEnv, /READY/);
  children.push(worker.child);
  const api = await startChild('api/main.ts', childEnv, /listening on (http:\/\/\S+)/);
  children.push(api.child);
  const url = at(api.match, 1, 'match');

  const events = makeEvents();
  const bodies: string[] = [];
  for (let i = 0; i < events.length; i += BATCH) bodies.push(JSON.stringify(events.slice(i, i + BATCH)));

  const t0 = performance.now();
  const posted = await postAll(url, bodies);
  const tPosted = performance.now();
  // The last row is in Postgres when the last job has completed (each job commits its rows).
  let counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
  // BullMQ answers a key for every type asked for; an absent one would mean none of that type.
  const pending = (c: Record<string, number>): number => (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0);
  while (pending(counts) > 0) {
    await new Promise((r) => setTimeout(r, 50));
    counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
  }
  const tDone = performance.now();
  const { rows: storedRows } = await pool.query<{ rows: number; distinct: number; dead: number }>(
    `SELECT (SELECT count(*)::int FROM "Event") AS rows, (SELECT count(DISTINCT "eventId")::int FROM "Event") AS distinct,
            (SELECT count(*)::int FROM "DeadLetter") AS dead`,
  );
  const stored = at(storedRows, 0, 'stored counts');

  const copySeconds = await rawCopy(pool, events);
  const copied = at((await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM copy_baseline`)).rows, 0, 'copy count').n;

  const e2eSeconds = (tDone - t0) / 1000;
  const e2eRate = posted.accepted / e2eSeconds;
  const copyRate = copied / copySeconds;
  const ok = stored.rows === posted.accepted && stored.distinct === posted.accepted && stored.dead === 0 && counts.failed === 0;
  const rows = [
    ['events posted', EVENTS.toLocaleString('en')],
    ['batches × connections', `${bodies.length} × ${CONNECTIONS}`],
    ['accepted / rejected / 429 retries', `${posted.accepted} / ${posted.rejected} / ${posted.retries429}`],
    ['HTTP phase (all 202s)', `${((tPosted - t0) / 1000).toFixed(2)} s`],
    ['first request → last row in Postgres', `${e2eSeconds.toFixed(2)} s`],
    ['end-to-end events/s', Math.round(e2eRate).toLocaleString('en')],
    ['raw COPY (same rows, same indexes)', `${copySeconds.toFixed(2)} s = ${Math.round(copyRate).toLocaleString('en')} rows/s`],
    ['end-to-end ÷ raw COPY', (e2eRate / copyRate).toFixed(3)],
    ['rows = accepted, distinct, no dead letters', ok ? 'yes' : `NO (rows ${stored.rows}, distinct ${stored.distinct}, dead ${stored.dead}, failed jobs ${counts.failed})`],
  ];
  const w = Math.max(...rows.map((r) => at(r, 0, 'r').length));
  console.log('\nbench:ingest\n');
  for (const [k, v] of rows) console.log(`${k!.padEnd(w)}  ${v}`);
  const goals = { copyRatio: e2eRate / copyRate >= 0.25, eventsPerSecond: e2eRate >= 20_000, integrity: ok };
  console.log(`\ngoals: ≥0.25× raw COPY ${goals.copyRatio ? 'met' : 'MISSED'}; ≥20k events/s ${goals.eventsPerSecond ? 'met' : 'MISSED'}; integrity ${ok ? 'ok' : 'FAILED'}\n`);
  console.log(JSON.stringify({
    bench: 'ingest', events: EVENTS, batch: BATCH, connections: CONNECTIONS, accepted: posted.accepted, rejected: posted.rejected, retries429: posted.retries429,
    httpSeconds: +((tPosted - t0) / 1000).toFixed(3), e2eSeconds: +e2eSeconds.toFixed(3), e2eEventsPerSecond: Math.round(e2eRate),
    copySeconds: +copySeconds.toFixed(3), copyRowsPerSecond: Math.round(copyRate), ratio: +(e2eRate / copyRate).toFixed(3),
    rows: stored.rows, distinct: stored.distinct, deadLetters: stored.dead, failedJobs: counts.failed, goals,
  }));
  process.exitCode = ok ? 0 : 1;
} finally {
  for (const c of children) {
    c.kill('SIGTERM');
    await Promise.race([once(c, 'exit'), new Promise((r) => setTimeout(r, 5000))]);
  }
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
  bull.disconnect();
  await pool.end();
}
