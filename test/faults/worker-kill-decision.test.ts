/**
 * The worker SIGKILLed three times mid-cycle during a seeded experiment reaches the same decision as
 * an undisturbed run of the same seed, with each decision, snapshot and notification exactly once.
 *
 * Two experiments with the same definition are fed the same seeded data (exposures and purchases
 * written as ingestion writes them, same timestamps), one wave before each cycle. The fixed policy
 * and the sequential rule make every cycle a function of that data, so the runs must agree cycle
 * by cycle. The undisturbed run goes first; in the second, each of three cycles is held inside
 * Postgres by a table lock the test owns (Assignment: collect; Decision: decide — both inside
 * runCycle by default; Notification: notify), a standby worker is started, and the worker running the activity is killed with
 * SIGKILL (`node --import tsx worker.ts`, so the signal reaches the real process). Its blocked
 * statement still runs when the lock is released, as a dying process's last write would.
 * Runs on a Postgres and a Redis of its own: the locks and the notification queue stay private.
 */
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../config.js';
import { abExperiment } from '../helpers/fixtures.js';
import { postJson } from '../helpers/http.js';
import { idleLiveStatus } from '../helpers/live-status.js';
import { recordFault } from '../helpers/fault-report.js';
import { PrivatePostgres } from '../helpers/private-postgres.js';
import { PrivateRedis } from '../helpers/private-redis.js';
import { kill, spawnApi, spawnWorker, type Child } from '../helpers/processes.js';
import { seedArms } from '../helpers/seed-data.js';
import { testConfig, uniqueSuffix, waitFor } from '../helpers/services.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';

let pgServer: PrivatePostgres;
let redisServer: PrivateRedis;
let config: Config;
let db: pg.Pool;
let worker: Child;
const retired: Child[] = [];
let api: { child: Child; url: string };
let connection: Connection;
let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
const suffix = uniqueSuffix();
/** All waves share these timestamps, so both runs hold identical data. */
const T0 = Date.now();

/** Cycle 1 runs at start with no data; waves feed cycles 2-4, and the 4th ships. */
const WAVES = [
  { control: { n: 1500, conv: 0.1 }, treatment: { n: 1500, conv: 0.1 } },
  { control: { n: 1500, conv: 0.1 }, treatment: { n: 1500, conv: 0.13 } },
  { control: { n: 1500, conv: 0.1 }, treatment: { n: 1500, conv: 0.2 } },
];
/** Where each kill holds the cycle: the table the step's first statement waits on. */
const HOLDS = ['Assignment', 'Decision', 'Notification'] as const;

beforeAll(async () => {
  [pgServer, redisServer] = await Promise.all([PrivatePostgres.start(), PrivateRedis.start()]);
  config = testConfig({ databaseUrl: pgServer.url, redisUrl: redisServer.url });
  db = new pg.Pool({ connectionString: config.databaseUrl, max: 4 });
  hook = await startWebhookReceiver();
  [worker, api] = await Promise.all([spawnWorker(config), spawnApi(config)]);
  connection = await Connection.connect({ address: config.temporalAddress });
}, 180_000);
afterAll(async () => {
  await kill(api?.child, 'SIGTERM');
  for (const w of [worker, ...retired]) await kill(w);
  await hook?.close();
  await connection?.close();
  await db?.end();
  await redisServer?.down();
  await pgServer?.destroy();
}, 60_000);

function definition(key: string) {
  return abExperiment(key, {
    cycleIntervalSeconds: 3600,
    policy: { kind: 'fixed' },
    // No weight steps: every wave is split 50/50, as the allocation stays.
    decision: { preset: 'balanced', arms: { raiseWeightAbove: 0.9999, lowerWeightBelow: 0.0001 } },
    webhookUrl: hook.url,
  });
}

const handleOf = (key: string) => new Client({ connection }).workflow.getHandle(`experiment-${key}`);
const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

const idle = (key: string) => idleLiveStatus(api.url, key, handleOf(key), 120_000);

interface CycleOutcome {
  cycle: number;
  outcome: string;
  winner: string | null;
  snapshotVersionBefore: number;
  killedDuring?: string;
  recoveredMs?: number;
}

/** Seeds the wave, runs one cycle, and with `hold` kills the worker while the cycle waits on that table. */
async function cycleWith(key: string, wave: number, arms: (typeof WAVES)[number], hold?: (typeof HOLDS)[number]): Promise<CycleOutcome> {
  const live = await idle(key);
  await seedArms(db, { experiment: key, prefix: `w${wave}`, arms, snapshotVersion: live.snapshotVersion, seed: 1000 + wave, at: new Date(T0 + wave * 1000) });
  if (!hold) {
    const res = await postJson(`${api.url}/experiments/${key}/run-cycle`, {});
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return { cycle: res.body.cycle, outcome: res.body.decision.outcome, winner: res.body.decision.winner ?? null, snapshotVersionBefore: live.snapshotVersion };
  }
  const lock = await db.connect();
  await lock.query('BEGIN');
  await lock.query(`LOCK TABLE "${hold}" IN ACCESS EXCLUSIVE MODE`);
  const answer = postJson(`${api.url}/experiments/${key}/run-cycle`, {});
  let killedDuring: string;
  let killedAt: number;
  try {
    const running = await waitFor(async () => (await handleOf(key).describe()).raw.pendingActivities?.find((a) => a.state === STARTED && a.attempt === 1 && isHeldBy(hold, a.activityType?.name ?? undefined)), {
      what: `an activity waiting on ${hold}`,
      timeoutMs: 60_000,
    });
    killedDuring = running.activityType?.name ?? '?';
    // A standby worker, as any deployment with more than one has; then the SIGKILL.
    const standby = await spawnWorker(config);
    await kill(worker);
    retired.push(worker);
    worker = standby;
    killedAt = Date.now();
  } finally {
    await lock.query('COMMIT');
    lock.release();
  }
  const res = await answer;
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { cycle: res.body.cycle, outcome: res.body.decision.outcome, winner: res.body.decision.winner ?? null, snapshotVersionBefore: live.snapshotVersion, killedDuring, recoveredMs: Date.now() - killedAt };
}

/**
 * The activity expected to be the first to wait on each held table: its step's own activity, or
 * runCycle, which runs collect … decide in one activity (the default since 'cycle-in-one-activity').
 */
const HELD_BY = { Assignment: ['collectData', 'runCycle'], Decision: ['decide', 'runCycle'], Notification: ['notify'] } as const;
function isHeldBy(table: (typeof HOLDS)[number], activity: string | undefined): boolean {
  return (HELD_BY[table] as readonly string[]).includes(activity ?? '');
}

async function runToDecision(key: string, holds: Array<(typeof HOLDS)[number] | undefined>): Promise<CycleOutcome[]> {
  expect((await postJson(`${api.url}/experiments`, definition(key))).status).toBe(201);
  const out: CycleOutcome[] = [];
  for (const [wave, arms] of WAVES.entries()) {
    const c = await cycleWith(key, wave, arms, holds[wave]);
    out.push(c);
    if (c.outcome !== 'continue') break;
  }
  // The phase change (concluded) and its notification follow the decision.
  await waitFor(async () => (await idle(key)).phase !== 'running', { what: `${key} concluded` });
  return out;
}

/** What each run wrote, in a form two runs can be compared by. */
async function ledger(key: string) {
  const id = (await db.query<{ id: string }>(`SELECT id FROM "Experiment" WHERE key = $1`, [key])).rows[0]?.id;
  if (!id) throw new Error(`no experiment ${key}`);
  const decisions = (await db.query<{ cycle: number; outcome: string; rationale: string }>(`SELECT cycle, outcome, rationale FROM "Decision" WHERE "experimentId" = $1 ORDER BY cycle`, [id])).rows;
  const snapshots = (await db.query<{ cycle: number; step: string; version: number; weights: unknown }>(`SELECT cycle, step, version, weights FROM "AllocationSnapshot" WHERE "experimentId" = $1 ORDER BY version`, [id])).rows;
  // Idempotency keys carry the experiment's id or key; keep what names the event.
  const notifications = (await db.query<{ key: string; status: string }>(`SELECT "idempotencyKey" AS key, status FROM "Notification" WHERE "experimentKey" = $1 ORDER BY "idempotencyKey"`, [key])).rows;
  const audit = (await db.query<{ action: string; n: string }>(`SELECT action, count(*) AS n FROM "AuditLog" WHERE target = $1 GROUP BY action ORDER BY action`, [key])).rows;
  const deliveries = hook.received.filter((w) => w.body.experiment === key);
  return {
    decisions,
    snapshots: snapshots.map((s) => ({ cycle: s.cycle, step: s.step, version: s.version, weights: s.weights })),
    notificationKinds: notifications.map((n) => `${n.key.split('-')[0]}:${n.status}`).sort(),
    notificationKeys: notifications.map((n) => n.key),
    audit: audit.map((a) => `${a.action}×${a.n}`),
    deliveries: deliveries.length,
    deliveredKeys: new Set(deliveries.map((w) => String(w.headers['x-expflow-idempotency-key']))),
  };
}

describe('worker SIGKILLed three times during a seeded experiment', () => {
  it('reaches the same decision as an undisturbed run, each decision, snapshot and notification once', { timeout: 600_000 }, async () => {
    const t0 = Date.now();
    const calm = await runToDecision(`wk-calm-${suffix}`, []);
    const killed = await runToDecision(`wk-kill-${suffix}`, [...HOLDS]);
    // Deliveries are asynchronous (the notification queue): wait for both runs' to arrive.
    const expected = async (key: string) => (await ledger(key)).notificationKeys.length;
    await waitFor(async () => {
      const a = hook.received.filter((w) => w.body.experiment === `wk-calm-${suffix}`).length;
      const b = hook.received.filter((w) => w.body.experiment === `wk-kill-${suffix}`).length;
      return a >= (await expected(`wk-calm-${suffix}`)) && b >= (await expected(`wk-kill-${suffix}`)) && a > 0;
    }, { what: 'webhook deliveries', timeoutMs: 120_000 });
    const [a, b] = [await ledger(`wk-calm-${suffix}`), await ledger(`wk-kill-${suffix}`)];

    const kills = killed.filter((c) => c.killedDuring);
    const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
    recordFault({
      fault: 'worker SIGKILL ×3 mid-cycle (seeded run vs undisturbed)',
      in: {
        'decision (undisturbed)': `${calm.at(-1)?.outcome} ${calm.at(-1)?.winner ?? ''} @cycle ${calm.at(-1)?.cycle}`,
        kills: kills.map((c) => `c${c.cycle}:${c.killedDuring}`).join(' '),
        'Decision/snapshot/notification rows (undisturbed)': `${a.decisions.length}/${a.snapshots.length}/${a.notificationKeys.length}`,
        'deliveries (undisturbed)': a.deliveries,
      },
      out: {
        'decision (killed)': `${killed.at(-1)?.outcome} ${killed.at(-1)?.winner ?? ''} @cycle ${killed.at(-1)?.cycle}`,
        'recovery s': kills.map((c) => Math.round((c.recoveredMs ?? 0) / 1000)).join('/'),
        'Decision/snapshot/notification rows (killed)': `${b.decisions.length}/${b.snapshots.length}/${b.notificationKeys.length}`,
        'deliveries (killed)': b.deliveries,
        'same per-cycle decisions, snapshots': same(a.decisions, b.decisions) && same(a.snapshots, b.snapshots) ? 'yes' : 'no',
      },
      lost: Math.max(0, a.decisions.length - b.decisions.length) + Math.max(0, a.snapshots.length - b.snapshots.length) + Math.max(0, a.notificationKeys.length - b.deliveredKeys.size),
      doubled: Math.max(0, b.decisions.length - a.decisions.length) + Math.max(0, b.snapshots.length - a.snapshots.length) + (b.deliveries - b.deliveredKeys.size) + Math.max(0, b.notificationKeys.length - a.notificationKeys.length),
      seconds: Math.round((Date.now() - t0) / 1000),
    });

    // The undisturbed run ships treatment at the last wave's cycle.
    expect(calm.map((c) => c.outcome)).toEqual(['continue', 'continue', 'ship']);
    expect(calm.at(-1)?.winner).toBe('treatment');
    // The killed run: three kills, each in the step it was aimed at, and the same path.
    expect(kills.map((c, i) => isHeldBy(HOLDS[i] ?? 'Notification', c.killedDuring))).toEqual([true, true, true]);
    expect(killed.map(({ cycle, outcome, winner, snapshotVersionBefore }) => ({ cycle, outcome, winner, snapshotVersionBefore }))).toEqual(
      calm.map(({ cycle, outcome, winner, snapshotVersionBefore }) => ({ cycle, outcome, winner, snapshotVersionBefore })),
    );
    // Each decision, snapshot and notification exactly once, as in the undisturbed run.
    expect(b.decisions).toEqual(a.decisions);
    expect(b.snapshots).toEqual(a.snapshots);
    expect(b.notificationKinds).toEqual(a.notificationKinds);
    expect(b.audit).toEqual(a.audit);
    expect(a.deliveries).toBe(a.notificationKeys.length);
    expect(b.deliveries).toBe(b.notificationKeys.length);
    expect([...b.deliveredKeys].sort()).toEqual([...b.notificationKeys].sort());
  });
});
