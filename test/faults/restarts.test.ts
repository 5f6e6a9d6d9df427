/**
 * Redis and Postgres restarted under a running stack (worker and API as child processes, on a
 * Redis and a Postgres of this file's own so the crash touches no other suite):
 *  - during an ingestion run: clients keep assigning units and sending events (re-sending what is
 *    refused until it is acknowledged); afterwards every event acknowledged with 202 is in Event
 *    exactly once (or in DeadLetter with a reason), and every exposure served is in Assignment once;
 *  - during a cycle: the cycle's first activity is held by a table lock, the server is crashed, and
 *    the cycle must complete with its decision and snapshots written exactly once, the snapshot the
 *    API serves (in Redis) being the newest in Postgres.
 * Crashes are abrupt: redis-server SIGKILL, `pg_ctl stop -m immediate`.
 */
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../config.js';
import { pseudonymiseUnitId } from '../../infra/unit-pseudonym.js';
import { abExperiment } from '../helpers/fixtures.js';
import { postJson } from '../helpers/http.js';
import { idleLiveStatus } from '../helpers/live-status.js';
import { recordFault } from '../helpers/fault-report.js';
import { startLoad, type LoadBooks } from '../helpers/ingest-load.js';
import { PrivatePostgres } from '../helpers/private-postgres.js';
import { PrivateRedis } from '../helpers/private-redis.js';
import { kill, spawnApi, spawnWorker, type Child } from '../helpers/processes.js';
import { seedArms } from '../helpers/seed-data.js';
import { testConfig, uniqueSuffix, waitFor } from '../helpers/services.js';

let pgServer: PrivatePostgres;
let redisServer: PrivateRedis;
let config: Config;
let db: pg.Pool;
let worker: Child;
let api: { child: Child; url: string };
let connection: Connection;
const suffix = uniqueSuffix();
/** How long a crashed server stays down during an ingestion run. */
const OUTAGE_MS = 3_000;

beforeAll(async () => {
  [pgServer, redisServer] = await Promise.all([PrivatePostgres.start(), PrivateRedis.start()]);
  config = testConfig({ databaseUrl: pgServer.url, redisUrl: redisServer.url });
  db = new pg.Pool({ connectionString: config.databaseUrl, max: 4 });
  db.on('error', () => {}); // idle clients die with the server; the pool reconnects
  [worker, api] = await Promise.all([spawnWorker(config), spawnApi(config)]);
  connection = await Connection.connect({ address: config.temporalAddress });
}, 180_000);
afterAll(async () => {
  await kill(api?.child, 'SIGTERM');
  await kill(worker, 'SIGTERM');
  await connection?.close();
  await db?.end();
  await redisServer?.down();
  await pgServer?.destroy();
}, 60_000);

async function createExperiment(key: string): Promise<void> {
  const res = await postJson(`${api.url}/experiments`, abExperiment(key, { cycleIntervalSeconds: 3600, policy: { kind: 'fixed' } }));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

/** Both processes must live through every fault: a dead one is a defect, not a finding. */
function expectAlive(): void {
  expect(worker.alive(), `worker died:\n${worker.output().slice(-3000)}`).toBe(true);
  expect(api.child.alive(), `API died:\n${api.child.output().slice(-3000)}`).toBe(true);
}

interface Stored {
  eventRows: number;
  eventIds: Set<string>;
  deadLettered: Set<string>;
  deadLetterReasons: string[];
  exposureRows: number;
  units: Set<string>;
}

async function stored(key: string): Promise<Stored> {
  const events = await db.query<{ eventId: string }>(`SELECT e."eventId" FROM "Event" e JOIN "Experiment" x ON x.id = e."experimentId" WHERE x.key = $1`, [key]);
  const dead = await db.query<{ payload: string; reason: string }>(`SELECT payload, reason FROM "DeadLetter" WHERE kind = 'events' AND payload LIKE $1`, [`%"experiment":"${key}"%`]);
  const units = await db.query<{ unitId: string }>(`SELECT a."unitId" FROM "Assignment" a JOIN "Experiment" x ON x.id = a."experimentId" WHERE x.key = $1`, [key]);
  return {
    eventRows: events.rowCount ?? 0,
    eventIds: new Set(events.rows.map((r) => r.eventId)),
    deadLettered: new Set(dead.rows.map((r) => (JSON.parse(r.payload) as { eventId: string }).eventId)),
    deadLetterReasons: [...new Set(dead.rows.map((r) => r.reason))],
    exposureRows: units.rowCount ?? 0,
    units: new Set(units.rows.map((r) => r.unitId)),
  };
}

/** Acknowledged events neither stored nor dead-lettered, and served exposures not stored. */
function losses(books: LoadBooks, s: Stored) {
  const lostEvents = [...books.acked].filter((id) => !s.eventIds.has(id) && !s.deadLettered.has(id));
  const lostExposures = [...books.served].filter((u) => !s.units.has(pseudonymiseUnitId(config.unitIdKey, u)));
  return { lostEvents, lostExposures };
}

/**
 * Runs client load on a fresh experiment, applies the fault once the load is flowing, lets the load
 * run on after recovery, then waits until storage has caught up and balances the books.
 */
async function ingestionRun(fault: string, outage: { down(): Promise<void>; felt(b: LoadBooks, ackedAtDown: number): boolean; up(): Promise<void> }) {
  const key = `fault-ing-${fault.replace(/\W+/g, '-').toLowerCase()}-${suffix}`.slice(0, 63);
  await createExperiment(key);
  const t0 = Date.now();
  const load = startLoad({ apiUrl: api.url, experiment: key, prefix: key });
  const { books } = load;
  await waitFor(async () => books.acked.size >= 200, { what: 'load flowing', timeoutMs: 60_000 });
  const ackedAtDown = books.acked.size;
  await outage.down();
  const downAt = Date.now();
  // The server stays down at least OUTAGE_MS, and until the outage has reached the load.
  await waitFor(async () => Date.now() - downAt >= OUTAGE_MS && outage.felt(books, ackedAtDown), { what: `${fault}: the outage reaching clients or the worker`, timeoutMs: 30_000 });
  await outage.up();
  const outageMs = Date.now() - downAt;
  const ackedAtUp = books.acked.size;
  await waitFor(async () => books.acked.size >= ackedAtUp + 200, { what: 'load flowing again after the restart', timeoutMs: 90_000 });
  await load.stop();
  // Storage catches up: the worker drains the queue (and the API its exposure spool).
  let s = await stored(key);
  await waitFor(
    async () => {
      s = await stored(key);
      const l = losses(books, s);
      return l.lostEvents.length === 0 && l.lostExposures.length === 0;
    },
    { what: `${fault}: every acknowledged event and served exposure stored`, timeoutMs: 120_000, intervalMs: 1000 },
  ).catch(() => {});
  const { lostEvents, lostExposures } = losses(books, s);
  const doubled = s.eventRows - s.eventIds.size + (s.exposureRows - s.units.size);
  const extra = [...s.eventIds].filter((id) => !books.acked.has(id)).length;
  recordFault({
    fault,
    in: { 'outage s': (outageMs / 1000).toFixed(1), 'events acked (202)': books.acked.size, 'exposures served': books.served.size, 'refused sends (retried)': Object.entries(books.refused).map(([k, v]) => `${v}×${k}`).join(' ') || '0' },
    out: { 'Event rows': s.eventRows, 'distinct eventIds': s.eventIds.size, 'dead-lettered': s.deadLettered.size, 'Assignment rows': s.exposureRows, 'stored, never acked': extra },
    lost: lostEvents.length + lostExposures.length,
    doubled,
    seconds: Math.round((Date.now() - t0) / 1000),
    notes: s.deadLetterReasons.length ? `dead-letter reasons: ${s.deadLetterReasons.join('; ')}` : undefined,
  });
  expect(lostEvents.slice(0, 5), `${lostEvents.length} acknowledged events lost`).toEqual([]);
  expect(lostExposures.slice(0, 5), `${lostExposures.length} served exposures lost`).toEqual([]);
  expect(doubled).toBe(0);
  expect(extra).toBe(0);
  expectAlive();
}

const cycleKey = `fault-cycle-${suffix}`;

/** The experiment's rows a cycle writes, for exactly-once checks. */
async function cycleRows(cycle: number) {
  const q = async (sql: string) => {
    const row = (await db.query<{ n: string }>(sql, [cycleKey, cycle])).rows[0];
    if (!row) throw new Error(`no row from ${sql}`);
    return Number(row.n);
  };
  const exp = `(SELECT id FROM "Experiment" WHERE key = $1)`;
  return {
    decisions: await q(`SELECT count(*) AS n FROM "Decision" WHERE "experimentId" = ${exp} AND cycle = $2`),
    snapshots: await q(`SELECT count(*) AS n FROM "AllocationSnapshot" WHERE "experimentId" = ${exp} AND cycle = $2`),
    snapshotVersions: await q(`SELECT count(DISTINCT version) AS n FROM "AllocationSnapshot" WHERE "experimentId" = ${exp} AND cycle = $2`),
    newest: await q(`SELECT coalesce(max(version), 0) AS n FROM "AllocationSnapshot" WHERE "experimentId" = ${exp} AND $2::int IS NOT NULL`),
  };
}

/**
 * Holds the next cycle's first activity (collectData reads Assignment, which the test locks), crashes
 * the server mid-activity, restarts it once the cycle has felt the outage, and checks the cycle.
 */
async function cycleRun(fault: string, outage: { down(): Promise<void>; up(): Promise<void> }) {
  const t0 = Date.now();
  const handle = new Client({ connection }).workflow.getHandle(`experiment-${cycleKey}`);
  // The workflow runs its first cycle at start: wait until no cycle is in flight.
  const live = await idleLiveStatus(api.url, cycleKey, handle);
  const cycle = live.cycle + 1;
  await seedArms(db, { experiment: cycleKey, prefix: `c${cycle}`, arms: { control: { n: 300, conv: 0.1 }, treatment: { n: 300, conv: 0.1 } }, snapshotVersion: live.snapshotVersion, seed: cycle, at: new Date() });
  const lock = await db.connect();
  lock.on('error', () => {});
  await lock.query('BEGIN');
  await lock.query('LOCK TABLE "Assignment" IN ACCESS EXCLUSIVE MODE');
  const started = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
  const answer = postJson(`${api.url}/experiments/${cycleKey}/run-cycle`, {});
  let held: string | undefined;
  try {
    held = (await waitFor(async () => (await handle.describe()).raw.pendingActivities?.find((a) => a.state === started), { what: 'cycle activity running' })).activityType?.name ?? '?';
    await outage.down();
  } finally {
    await lock.query('COMMIT').catch(() => {});
    lock.release(true);
  }
  // The outage is felt once an activity attempt failed on it (or the cycle finished regardless).
  const felt = await waitFor(
    async () => {
      const d = await handle.describe();
      const failed = d.raw.pendingActivities?.find((a) => a.lastFailure);
      if (failed) return `${failed.activityType?.name} attempt ${failed.attempt} failed: ${failed.lastFailure?.message?.slice(0, 80)}`;
      return (await cycleRowsSafe(cycle))?.decisions ? 'no activity failed' : null;
    },
    { what: `${fault}: the cycle meeting the outage`, timeoutMs: 60_000, intervalMs: 250 },
  );
  await outage.up();
  const res = await Promise.race([answer, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer')), 150_000))]).catch(async (e: Error) => {
    const d = await handle.describe();
    throw new Error(`${fault}: cycle ${cycle} did not complete (${e.message}); pending: ${JSON.stringify(d.raw.pendingActivities?.map((a) => [a.activityType?.name, a.attempt, a.lastFailure?.message]))}\nworker:\n${worker.output().slice(-4000)}`);
  });
  const seconds = Math.round((Date.now() - t0) / 1000);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const rows = await cycleRows(cycle);
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
  const inRedis = await waitFor(
    async () => {
      const raw = await redis.get(`expflow:snapshot:${cycleKey}`);
      const v = raw ? (JSON.parse(raw) as { version: number }).version : 0;
      return v === rows.newest ? v : null;
    },
    { what: 'the newest snapshot published to Redis', timeoutMs: 30_000 },
  ).catch(() => -1);
  redis.disconnect();
  recordFault({
    fault,
    in: { 'cycle run': cycle, 'activity held at crash': held ?? '?' },
    out: { 'cycle completed': res.body.cycle, 'Decision rows (cycle)': rows.decisions, 'snapshot rows (cycle)': rows.snapshots, 'Redis snapshot = newest in Postgres': inRedis === rows.newest ? 'yes' : `no (${inRedis} vs ${rows.newest})` },
    lost: (rows.decisions === 0 ? 1 : 0) + (inRedis === rows.newest ? 0 : 1),
    doubled: Math.max(0, rows.decisions - 1) + (rows.snapshots - rows.snapshotVersions),
    seconds,
    notes: felt,
  });
  expect(res.body.cycle).toBe(cycle);
  expect(rows.decisions).toBe(1);
  expect(rows.snapshots).toBe(rows.snapshotVersions);
  expect(inRedis).toBe(rows.newest);
  expectAlive();
}

async function cycleRowsSafe(cycle: number) {
  return cycleRows(cycle).catch(() => null);
}

const redisOutage = {
  down: () => redisServer.down(),
  up: () => redisServer.up(),
};
const pgOutage = {
  down: () => pgServer.down('immediate'),
  up: () => pgServer.up(),
};

describe('restarts during an ingestion run', () => {
  it('Redis: every acknowledged event and served exposure is stored exactly once', { timeout: 300_000 }, async () => {
    await ingestionRun('Redis restart during ingestion', { ...redisOutage, felt: (b) => (b.refused['503'] ?? 0) + (b.refused.network ?? 0) >= 3 });
  });
  it('Postgres: every acknowledged event and served exposure is stored exactly once', { timeout: 300_000 }, async () => {
    // The API keeps acknowledging while Postgres is away (Redis holds the batches).
    await ingestionRun('Postgres restart during ingestion', { ...pgOutage, felt: (b, atDown) => b.acked.size >= atDown + 200 });
  });
});

describe('restarts during a cycle', () => {
  beforeAll(() => createExperiment(cycleKey));
  it('Redis: the cycle completes with its decision and snapshots once', { timeout: 300_000 }, async () => {
    await cycleRun('Redis restart during a cycle', redisOutage);
  });
  it('Postgres: the cycle completes with its decision and snapshots once', { timeout: 300_000 }, async () => {
    await cycleRun('Postgres restart during a cycle', pgOutage);
  });
});
