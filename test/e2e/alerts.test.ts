/**
 * Alerts through the notification pipeline, on the real database, Redis and notification worker,
 * with a webhook receiver standing in for the operators' and the experiment's endpoints: an SRM
 * alarm, a guardrail breach, a failing webhook, ingestion lag and a stale snapshot each reach the
 * receiver exactly once however many scans run (also concurrently), and clear when they stop,
 * with one resolution notice to the same audience, also when no scan could queue it for longer than
 * 15 minutes. Each webhook carries a valid HMAC signature.
 * SRM alarms and guardrail breaches the circuit breaker stopped reach the experiment's channels
 * through the decide step only (srm_alarm, arm_stopped), never a second time as alerts.
 */
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAlertScan, type AlertScanDeps } from '../../activities/alert-scan.js';
import { createPrisma } from '../../infra/prisma.js';
import { createQueues, type EventsJob } from '../../infra/queues.js';
import { createRedis } from '../../infra/redis.js';
import { abExperiment, createExperimentRow } from '../helpers/fixtures.js';
import { uniqueSuffix, waitFor } from '../helpers/services.js';
import { useStack } from '../helpers/stack.js';
import { startWebhookReceiver, verifyExpflowSignature } from '../helpers/webhook-receiver.js';

const SECRET = 'whsec-alerts-0123456789abcdef';
// The stack's notification worker signs webhooks with this secret, alerts as well as decisions.
const stack = useStack({ webhookSecret: SECRET });
const prisma = createPrisma(stack.config.databaseUrl);
const redis = createRedis(stack.config.redisUrl);
const bull = createRedis(stack.config.redisUrl, { forBullmq: true });
const queues = createQueues(bull, { notificationsQueue: stack.config.notificationsQueue });
// An events queue of this test's own, which no worker drains, so its backlog stays put.
const lagQueue = new Queue<EventsJob>(`alerts-test-events-${uniqueSuffix()}`, { connection: bull });
let ops: Awaited<ReturnType<typeof startWebhookReceiver>>;
let own: Awaited<ReturnType<typeof startWebhookReceiver>>;
let deps: AlertScanDeps;

beforeAll(async () => {
  ops = await startWebhookReceiver();
  own = await startWebhookReceiver();
  deps = { prisma, queues: { ...queues, events: lagQueue }, thresholds: { ingestLagSeconds: 120, snapshotStaleCycles: 3, webhookFailures: 3 }, opsWebhookUrl: ops.url };
});
afterAll(async () => {
  await lagQueue.obliterate({ force: true });
  await lagQueue.close();
  await queues.close();
  await ops?.close();
  await own?.close();
  await prisma.$disconnect();
  redis.disconnect();
  bull.disconnect();
});

const about = (type: string) => (received: typeof ops.received, key: string) =>
  received.filter((w) => w.body.type === type && (w.body.experiment === key || String(w.body.subject).startsWith(key)));
const alertsFor = about('expflow.alert');
const resolutionsFor = about('expflow.alert_resolved');
const signed = (received: typeof ops.received) => received.every((w) => verifyExpflowSignature(SECRET, String(w.headers['x-expflow-signature'] ?? ''), w.raw));

describe('alerts', () => {
  it('raise an SRM alarm and guardrail breaches once each, resolve them once, and leave to decide what it announced', async () => {
    const key = `alert-srm-${uniqueSuffix()}`;
    const exp = await createExperimentRow(prisma, redis, abExperiment(key, { webhookUrl: own.url, cycleIntervalSeconds: 3600 }));
    // Arm `treatment` breaches and its circuit breaker stopped it (decide sent arm_stopped); arm `b`
    // breaches too but was not stopped (e.g. exempt): only an alert tells the experiment about it.
    await prisma.decision.create({
      data: {
        experimentId: exp.id,
        cycle: 1,
        outcome: 'continue',
        rationale: 'sample-ratio mismatch; not shipping',
        statistics: {
          srm: { alarm: true, pValue: 1e-7 },
          arms: [
            { arm: 'treatment', metric: 'latency', role: 'guardrail', harmful: true, estimate: 0.2, adjustedP: 0.001 },
            { arm: 'b', metric: 'latency', role: 'guardrail', harmful: true, estimate: 0.3, adjustedP: 0.002 },
          ],
          stopArms: [{ arm: 'treatment', rule: 'guardrail', reason: 'latency' }],
        },
      },
    });
    // Several scans, two of them racing: each alert is stored and sent once.
    await Promise.all([runAlertScan(deps), runAlertScan(deps)]);
    await runAlertScan(deps);
    const rows = await prisma.alert.findMany({ where: { experimentKey: key }, orderBy: { key: 'asc' } });
    expect(rows.map((r) => r.key)).toEqual([`guardrail:${key}/b/latency:1`, `guardrail:${key}/treatment/latency:1`, `srm:${key}:1`]);
    await waitFor(async () => alertsFor(ops.received, key).length === 3 && alertsFor(own.received, key).length === 1, { what: 'alert deliveries' });
    await runAlertScan(deps);
    // Nothing more arrives: operators get all three, the experiment only the breach decide did not announce.
    const notes = await prisma.notification.findMany({ where: { experimentKey: key }, orderBy: { idempotencyKey: 'asc' } });
    expect(notes.map((n) => [n.idempotencyKey, n.channel, n.status])).toEqual([
      [`alert-guardrail:${key}/b/latency:1-ops`, 'webhook', 'delivered'],
      [`alert-guardrail:${key}/b/latency:1-webhook`, 'webhook', 'delivered'],
      [`alert-guardrail:${key}/treatment/latency:1-ops`, 'webhook', 'delivered'],
      [`alert-srm:${key}:1-ops`, 'webhook', 'delivered'],
    ]);
    expect(alertsFor(ops.received, key).map((w) => w.body.alert).sort()).toEqual(['guardrail', 'guardrail', 'srm']);
    expect(alertsFor(own.received, key).map((w) => w.body.subject)).toEqual([`${key}/b/latency`]);
    expect(new Set(ops.received.map((w) => w.headers['x-expflow-idempotency-key'])).size).toBe(ops.received.length);

    // The next decision is clean: all three resolve, and each resolution reaches the same audience once.
    await prisma.decision.create({ data: { experimentId: exp.id, cycle: 2, outcome: 'continue', rationale: 'ok', statistics: { srm: { alarm: false, pValue: 0.5 }, arms: [] } } });
    await Promise.all([runAlertScan(deps), runAlertScan(deps)]);
    expect((await prisma.alert.findMany({ where: { experimentKey: key, resolvedAt: null } })).length).toBe(0);
    await runAlertScan(deps);
    await waitFor(async () => resolutionsFor(ops.received, key).length === 3 && resolutionsFor(own.received, key).length === 1, { what: 'resolution deliveries' });
    expect(resolutionsFor(own.received, key)[0]!.body).toMatchObject({ alert: 'guardrail', key: `guardrail:${key}/b/latency:1`, subject: `${key}/b/latency` });
    expect(resolutionsFor(ops.received, key).map((w) => w.body.key).sort()).toEqual(rows.map((r) => r.key));
    expect((await prisma.notification.count({ where: { experimentKey: key, idempotencyKey: { contains: '-resolved-' } } }))).toBe(4);
    // Every webhook, alert or resolution, is signed like decide's notifications.
    expect(ops.received.length).toBeGreaterThan(0);
    expect(signed(ops.received)).toBe(true);
    expect(signed(own.received)).toBe(true);
    expect(verifyExpflowSignature(SECRET, String(ops.received[0]!.headers['x-expflow-signature']), `${ops.received[0]!.raw} `)).toBe(false);

    await prisma.decision.create({ data: { experimentId: exp.id, cycle: 3, outcome: 'continue', rationale: 'srm again', statistics: { srm: { alarm: true, pValue: 1e-5 }, arms: [] } } });
    const again = await runAlertScan(deps);
    expect(again.fired).toEqual([`srm:${key}:2`]);
  });

  it('announce a resolution that could not be queued for longer than 15 minutes, once', async () => {
    const subject = `late-${uniqueSuffix()}`;
    // A scan stored this resolution 20 minutes ago and then could not queue its notice (Redis down,
    // or the worker killed), and no scan ran since: a worker down for longer than any look-back.
    const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000);
    const late = await prisma.alert.create({
      data: { key: `ingest_lag:${subject}:1`, kind: 'ingest_lag', subject, severity: 'warning', message: `late ${subject}`, firedAt: at(40), resolvedAt: at(20) },
    });
    await Promise.all([runAlertScan(deps), runAlertScan(deps)]);
    await runAlertScan(deps);
    const notices = () => ops.received.filter((w) => w.body.type === 'expflow.alert_resolved' && w.body.key === late.key);
    await waitFor(async () => notices().length === 1, { what: 'the late resolution notice', timeoutMs: 60_000 });
    expect(notices()[0]!.body).toMatchObject({ alert: 'ingest_lag', subject, resolvedAt: late.resolvedAt!.toISOString() });
    expect((await prisma.alert.findUniqueOrThrow({ where: { key: late.key } })).resolutionQueuedAt).not.toBeNull();
    // Marked queued, it is not picked again; its one notification row is the idempotency key's.
    await runAlertScan(deps);
    expect(await prisma.notification.count({ where: { idempotencyKey: { startsWith: `alert-${late.key}-resolved` } } })).toBe(1);
    expect(notices()).toHaveLength(1);
  });

  it('tell the operators, not the broken endpoint, about a webhook that keeps failing', async () => {
    const key = `hook-${uniqueSuffix()}`;
    await createExperimentRow(prisma, redis, abExperiment(key, { webhookUrl: 'http://127.0.0.1:9/nothing-listens', cycleIntervalSeconds: 3600 }));
    for (let i = 0; i < 3; i++) {
      await prisma.notification.create({ data: { experimentKey: key, channel: 'webhook', status: 'failed', attempts: 6, lastError: 'ECONNREFUSED', idempotencyKey: `${key}-n${i}` } });
    }
    await runAlertScan(deps);
    await runAlertScan(deps);
    await waitFor(async () => alertsFor(ops.received, key).length === 1, { what: 'webhook alert' });
    expect(alertsFor(ops.received, key)[0]!.body).toMatchObject({ alert: 'webhook_failing', experiment: key, severity: 'warning' });
    // Only the operators' copy exists: the failing endpoint is not told about itself.
    const sent = await prisma.notification.findMany({ where: { experimentKey: key, idempotencyKey: { startsWith: 'alert-webhook_failing:' } } });
    expect(sent.map((n) => n.idempotencyKey)).toEqual([`alert-webhook_failing:${key}:1-ops`]);
  });

  it('flag ingestion lag and a snapshot that stopped refreshing, and clear them', async () => {
    const key = `alert-stale-${uniqueSuffix()}`;
    const exp = await createExperimentRow(prisma, redis, abExperiment(key, { cycleIntervalSeconds: 60 }));
    await prisma.allocationSnapshot.updateMany({ where: { experimentId: exp.id }, data: { createdAt: new Date(Date.now() - 3600_000) } });
    const job = await lagQueue.add('exposures', { kind: 'exposures', items: [] }, { timestamp: Date.now() - 600_000 });
    const first = await runAlertScan(deps);
    expect(first.fired).toContain(`snapshot_stale:${key}:1`);
    const lag = await prisma.alert.findMany({ where: { kind: 'ingest_lag', resolvedAt: null } });
    expect(lag.length).toBe(1);
    await waitFor(async () => ops.received.some((w) => w.body.alert === 'ingest_lag' && w.body.key === lag[0]!.key) && alertsFor(ops.received, key).length === 1, { what: 'lag and stale alerts' });

    await job.remove();
    await prisma.allocationSnapshot.updateMany({ where: { experimentId: exp.id }, data: { createdAt: new Date() } });
    const cleared = await runAlertScan(deps);
    expect(cleared.resolved).toEqual(expect.arrayContaining([`snapshot_stale:${key}:1`, lag[0]!.key]));
    expect(alertsFor(ops.received, key).length).toBe(1);
    await waitFor(async () => resolutionsFor(ops.received, key).length === 1 && ops.received.some((w) => w.body.type === 'expflow.alert_resolved' && w.body.key === lag[0]!.key), { what: 'resolutions' });
  });
});
