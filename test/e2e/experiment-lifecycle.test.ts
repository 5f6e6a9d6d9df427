/**
 * The whole lifecycle on real Temporal, PostgreSQL and Redis: create an experiment, serve 5,000
 * assignments, send events with a planted effect, run cycles until a decision is persisted, receive
 * the webhook, and find the workflow by its search attributes with the Temporal CLI.
 */
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Client, Connection } from '@temporalio/client';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driveTraffic } from '../../sim/traffic.js';
import { uniqueSuffix, waitFor } from '../helpers/services.js';
import { useStack } from '../helpers/stack.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';

const exec = promisify(execFile);
const stack = useStack();
const { config } = stack;
let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
const db = new pg.Client({ connectionString: config.databaseUrl });
const postJson = (path: string, body: unknown) => stack.post(path, body);

beforeAll(async () => {
  // The first delivery fails, so the notification worker's retry is exercised too.
  hook = await startWebhookReceiver({ failFirst: 1 });
  await db.connect();
});
afterAll(async () => {
  await hook?.close();
  await db.end();
});

describe('experiment lifecycle', () => {
  it('decides a planted effect and notifies', async () => {
    const key = `e2e-${uniqueSuffix()}`;
    const created = await postJson('/experiments', {
      key,
      name: 'Checkout button',
      hypothesis: 'A green button lifts purchases',
      kind: 'ab',
      owner: 'e2e@expflow',
      variants: [
        { key: 'control', weight: 0.5, control: true },
        { key: 'green', weight: 0.5 },
      ],
      config: {
        metrics: [{ key: 'purchase', event: 'purchase', type: 'binary', role: 'primary' }],
        cycleIntervalSeconds: 3600,
        webhookUrl: hook.url,
        policy: { kind: 'thompson' },
        bounds: { floor: 0.1, max: 0.9, maxChange: 0.2 },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    // `live` is the workflow's answer to a status query bounded at 3 s: null when a loaded worker
    // has not yet run the workflow's first task. Wait for it rather than read it off the create.
    const live = await waitFor(async () => (await stack.get(`/experiments/${key}`)).body.live as { phase: string } | null, { what: 'live status', timeoutMs: 60_000 });
    expect(live.phase).toBe('running');

    const traffic = await driveTraffic({
      apiUrl: stack.api.url,
      experiment: key,
      unitPrefix: key,
      count: 5000,
      effect: { base: 0.1, rates: { control: 0.1, green: 0.16 } },
      seed: 42,
    });
    expect(traffic.assigned).toBe(5000);
    expect(traffic.enrolled).toBe(5000);

    // Exposures and events reach Postgres through BullMQ.
    const expRow = await db.query<{ id: string }>('SELECT id FROM "Experiment" WHERE key = $1', [key]);
    const experimentId = expRow.rows[0]!.id;
    await waitFor(async () => {
      const a = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM "Assignment" WHERE "experimentId" = $1', [experimentId]);
      const e = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM "Event" WHERE "experimentId" = $1', [experimentId]);
      return a.rows[0]!.n === 5000 && e.rows[0]!.n === 5000 + traffic.conversions;
    }, { what: 'ingestion', timeoutMs: 120_000 });

    // Propensities were logged with every exposure.
    const props = await db.query<{ bad: number }>('SELECT count(*)::int AS bad FROM "Assignment" WHERE "experimentId" = $1 AND NOT (propensity > 0 AND propensity <= 1)', [experimentId]);
    expect(props.rows[0]!.bad).toBe(0);

    let decision: Record<string, any> | null = null;
    for (let i = 0; i < 8 && !decision; i++) {
      const r = await postJson(`/experiments/${key}/run-cycle`, {});
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      if (r.body.decision?.outcome !== 'continue') decision = r.body.decision;
    }
    expect(decision?.outcome).toBe('ship');
    expect(decision?.winner).toBe('green');

    const decisions = await fetch(`${stack.api.url}/experiments/${key}/decisions`).then((r) => r.json() as Promise<{ decisions: Array<{ outcome: string; statistics: any }> }>);
    const final = decisions.decisions.at(-1)!;
    expect(final.outcome).toBe('ship');
    expect(final.statistics.srm.alarm).toBe(false);

    await waitFor(async () => hook.received.length >= 2, { what: 'webhooks', timeoutMs: 60_000 });
    const delivered = hook.received.find((w) => w.body.type === 'expflow.decision')!;
    expect(delivered.body.experiment).toBe(key);
    const ended = hook.received.find((w) => w.body.type === 'expflow.experiment_ended')!;
    expect(ended.body).toMatchObject({ experiment: key, phase: 'concluded', winner: 'green', actor: 'expflow' });
    expect(ended.headers['x-expflow-idempotency-key']).toMatch(/^phase-/);
    expect(delivered.body.outcome).toBe('ship');
    expect(delivered.headers['x-expflow-idempotency-key']).toMatch(/^decision-/);
    const notif = await waitFor(async () => {
      const n = await db.query<{ status: string; attempts: number }>(
        'SELECT n.status, n.attempts FROM "Notification" n JOIN "Decision" d ON d.id = n."decisionId" WHERE d."experimentId" = $1',
        [experimentId],
      );
      return n.rows[0]?.status === 'delivered' ? n.rows[0] : null;
    }, { what: 'notification row', timeoutMs: 60_000 });
    expect(notif.attempts).toBe(2);

    // The experiment concluded; status, search attributes and the served default follow.
    const detail = await waitFor(async () => {
      const d = await fetch(`${stack.api.url}/experiments/${key}`).then((r) => r.json() as Promise<Record<string, any>>);
      return d.status === 'concluded' && d.live ? d : null;
    }, { what: 'concluded status', timeoutMs: 60_000 });
    expect(detail.live.phase).toBe('concluded');
    const after = await waitFor(async () => {
      const r = await postJson('/assign', { experiment: key, unitId: 'brand-new-unit' });
      return r.body.reason === 'concluded' ? r.body : null;
    }, { what: 'concluded snapshot' });
    expect(after.variant).toBe('green');

    const list = async (query: string) =>
      (await exec(config.temporalCli, ['workflow', 'list', '--address', config.temporalAddress, '--query', query, '-o', 'json'])).stdout;
    const byKey = await waitFor(async () => ((await list(`ExperimentKey="${key}"`)).includes(`experiment-${key}`) ? true : null), { what: 'visibility' });
    expect(byKey).toBe(true);
    const byStatus = await waitFor(async () => ((await list(`ExperimentKey="${key}" AND ExperimentStatus="concluded" AND DecisionOutcome="ship"`)).includes(`experiment-${key}`) ? true : null), { what: 'status attribute' });
    expect(byStatus).toBe(true);

    if (process.env.EXPFLOW_SAVE_HISTORIES === '1') {
      const connection = await Connection.connect({ address: config.temporalAddress });
      const history = await new Client({ connection }).workflow.getHandle(`experiment-${key}`).fetchHistory();
      await writeFile(new URL('../histories/lifecycle-real-activities.json', import.meta.url), historyToJSON(history));
      await connection.close();
    }
    // Traffic, ingestion and up to eight cycles: minutes, not seconds, on a loaded two-core machine.
  }, 400_000);
});
