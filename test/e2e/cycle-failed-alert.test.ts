/**
 * A cycle that keeps failing reaches people, end to end: the cycle's activity fails on every one of
 * its retries (its snapshot write waits on an advisory lock the test holds, and the test cancels
 * the waiting statement, as a statement timeout would), the workflow records the failure, the worker's own timed alert scan raises
 * `cycle_failed` and the notification worker delivers it, signed, once to the operators' webhook
 * and once to the experiment's; when the next cycle succeeds the alert resolves with one notice
 * each. Runs on a Postgres of its own: the alert scan looks at every experiment in its database,
 * and another file's scan must not deliver (or take) these alerts.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../../api/main.js';
import type { Config } from '../../config.js';
import { startWorker, type RunningWorker } from '../../worker.js';
import { abExperiment } from '../helpers/fixtures.js';
import { postJson } from '../helpers/http.js';
import { liveStatus } from '../helpers/live-status.js';
import { PrivatePostgres } from '../helpers/private-postgres.js';
import { testConfig, uniqueSuffix, waitFor } from '../helpers/services.js';
import { startWebhookReceiver, verifyExpflowSignature } from '../helpers/webhook-receiver.js';

const SECRET = 'whsec-cycle-failed-0123456789';
let pgServer: PrivatePostgres;
let config: Config;
let db: pg.Pool;
let worker: RunningWorker;
let api: RunningApi;
let ops: Awaited<ReturnType<typeof startWebhookReceiver>>;
let own: Awaited<ReturnType<typeof startWebhookReceiver>>;

beforeAll(async () => {
  [pgServer, ops, own] = await Promise.all([PrivatePostgres.start(), startWebhookReceiver(), startWebhookReceiver()]);
  const base = testConfig({ databaseUrl: pgServer.url, webhookSecret: SECRET });
  config = { ...base, alerts: { ...base.alerts, webhookUrl: ops.url, scanIntervalMs: 1_000 } };
  db = new pg.Pool({ connectionString: config.databaseUrl, max: 3 });
  worker = await startWorker(config);
  api = await startApi(config, 0);
}, 180_000);
afterAll(async () => {
  await api?.close();
  await worker?.close();
  await ops?.close();
  await own?.close();
  await db?.end();
  await pgServer?.destroy();
}, 60_000);

const live = (key: string) => liveStatus(api.url, key);
const of = (type: string, received: typeof ops.received) => received.filter((w) => w.body.type === type && w.body.alert === 'cycle_failed');

describe('cycle_failed alert', () => {
  it('reaches the operators and the experiment once when a cycle fails after its retries, and once more when it recovers', { timeout: 600_000 }, async () => {
    const key = `cycle-fail-${uniqueSuffix()}`;
    const created = await postJson(`${api.url}/experiments`, abExperiment(key, { cycleIntervalSeconds: 3600, policy: { kind: 'fixed' }, webhookUrl: own.url }));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await waitFor(async () => ((await live(key))?.cycle ?? 0) >= 1, { what: 'first cycle', timeoutMs: 120_000 });

    // Every attempt of cycle 2 waits on the lock inside its snapshot transaction and fails; the
    // workflow gives up after the retry policy's attempts (about 2.5 minutes of backoff).
    const lock = await db.connect();
    let failure: { cycle: number; message: string };
    try {
      await lock.query('BEGIN');
      await lock.query('SELECT pg_advisory_xact_lock(hashtext($1))', [created.body.id]);
      void postJson(`${api.url}/experiments/${key}/run-cycle`, { actor: 'tests', reason: 'held' }).catch(() => {});
      // Each attempt blocks on the lock (Prisma's timeout only fires at the transaction's next
      // query): cancel its statement, as a statement timeout would, so every attempt fails fast.
      failure = await waitFor(async () => {
        await db.query(`SELECT pg_cancel_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`);
        return (await live(key))?.lastError ?? null;
      }, { what: 'the cycle failing after its retries', timeoutMs: 420_000, intervalMs: 1_000 });
    } finally {
      await lock.query('COMMIT');
      lock.release();
    }
    expect(failure.cycle).toBe(2);

    await waitFor(async () => of('expflow.alert', ops.received).length >= 1 && of('expflow.alert', own.received).length >= 1, { what: 'cycle_failed delivered', timeoutMs: 60_000 });
    const alert = of('expflow.alert', ops.received)[0]!.body;
    expect(alert).toMatchObject({ alert: 'cycle_failed', experiment: key, severity: 'critical', key: `cycle_failed:${key}:1`, data: { cycle: 2 } });
    expect(String(alert.message)).toContain(`${key}: cycle 2 failed after its retries`);

    // The next cycle succeeds (the same cycle, retried on request): the alert resolves.
    const rerun = await postJson(`${api.url}/experiments/${key}/run-cycle`, { actor: 'tests', reason: 'lock released' });
    expect(rerun.status, JSON.stringify(rerun.body)).toBe(200);
    expect((await live(key))?.lastError).toBeNull();
    await waitFor(async () => of('expflow.alert_resolved', ops.received).length >= 1 && of('expflow.alert_resolved', own.received).length >= 1, { what: 'resolution delivered', timeoutMs: 60_000 });

    // Scans keep running every second and add nothing. A sentinel (a resolution to announce,
    // stored now) marks a whole scan having run after this alert's resolution was queued.
    const queued = async (alertKey: string) =>
      (await db.query(`SELECT 1 FROM "Alert" WHERE key = $1 AND "resolutionQueuedAt" IS NOT NULL`, [alertKey])).rowCount === 1;
    await waitFor(() => queued(`cycle_failed:${key}:1`), { what: 'resolution marked queued', timeoutMs: 60_000 });
    const sentinel = `ingest_lag:sentinel-${key}:1`;
    await db.query(
      `INSERT INTO "Alert" (id, key, kind, subject, severity, message, "firedAt", "resolvedAt") VALUES (gen_random_uuid(), $1, 'ingest_lag', $2, 'warning', 'sentinel', now(), now())`,
      [sentinel, `sentinel-${key}`],
    );
    await waitFor(() => queued(sentinel), { what: 'a later scan', timeoutMs: 60_000 });
    const notes = await waitFor(async () => {
      const rows = (await db.query<{ k: string; status: string }>(`SELECT "idempotencyKey" AS k, status::text FROM "Notification" WHERE "idempotencyKey" LIKE 'alert-cycle_failed:%' ORDER BY 1`)).rows;
      return rows.every((r) => r.status === 'delivered') ? rows : null;
    }, { what: 'notifications delivered', timeoutMs: 60_000 });
    expect(notes.map((r) => r.k)).toEqual([
      `alert-cycle_failed:${key}:1-ops`,
      `alert-cycle_failed:${key}:1-resolved-ops`,
      `alert-cycle_failed:${key}:1-resolved-webhook`,
      `alert-cycle_failed:${key}:1-webhook`,
    ]);
    for (const received of [ops.received, own.received]) {
      expect(of('expflow.alert', received)).toHaveLength(1);
      expect(of('expflow.alert_resolved', received)).toHaveLength(1);
      for (const w of [...of('expflow.alert', received), ...of('expflow.alert_resolved', received)]) {
        expect(verifyExpflowSignature(SECRET, String(w.headers['x-expflow-signature'] ?? ''), w.raw)).toBe(true);
      }
    }
  });
});
