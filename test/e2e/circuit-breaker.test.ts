/**
 * The per-arm circuit breaker and the sample-ratio hold on the running stack (Temporal, Postgres,
 * Redis, the BullMQ notification worker), with a local webhook receiver as the user's endpoint.
 *  - A 3-arm experiment where one arm breaks a latency guardrail: that arm is routed to control in
 *    the same cycle, new units never get it, the alert is notified, and the other two go on to ship.
 *  - A sample-ratio alarm: notified, holds the decision, acknowledged by an update, then decided.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, normal } from '../../domain/rng.js';
import { writeEvents, writeExposures } from '../../infra/ingest.js';
import type { ExposureRecord, OutcomeEvent } from '../../infra/queues.js';
import { abExperiment } from '../helpers/fixtures.js';
import { uniqueSuffix, waitFor } from '../helpers/services.js';
import { useStack } from '../helpers/stack.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';

const stack = useStack();
const { config } = stack;
let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
const db = new pg.Client({ connectionString: config.databaseUrl });
const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 2 });

beforeAll(async () => {
  hook = await startWebhookReceiver();
  await db.connect();
});
afterAll(async () => {
  await hook?.close();
  await db.end();
  await pool.end();
});

/** Writes exposures (with their snapshot version) and purchase + latency events, as ingestion would. */
async function seed(experiment: string, prefix: string, arms: Record<string, { n: number; conv: number; latency?: number }>, snapshotVersion: number, seed: number) {
  const rng = createRng(seed);
  const now = new Date().toISOString();
  const exposures: ExposureRecord[] = [];
  const events: OutcomeEvent[] = [];
  for (const [variant, a] of Object.entries(arms)) {
    for (let i = 0; i < a.n; i++) {
      const unitId = `${prefix}-${variant}-${i}`;
      exposures.push({ experiment, unitId, variant, propensity: 0.5, segment: 0, snapshotVersion, context: {}, assignedAt: now });
      if (rng() < a.conv) events.push({ eventId: `${unitId}-p`, experiment, unitId, name: 'purchase', value: 1, timestamp: now, context: {} });
      if (a.latency !== undefined) events.push({ eventId: `${unitId}-l`, experiment, unitId, name: 'page', value: Math.max(1, a.latency + 20 * normal(rng)), timestamp: now, context: {} });
    }
  }
  for (let i = 0; i < exposures.length; i += 2000) await writeExposures(pool, exposures.slice(i, i + 2000));
  for (let i = 0; i < events.length; i += 2000) await writeEvents(pool, events.slice(i, i + 2000));
}

const live = async (key: string) => (await stack.get(`/experiments/${key}`)).body.live as Record<string, any>;

describe('per-arm circuit breaker', () => {
  it('routes the arm that breaks a guardrail to control within one cycle; the other two go on to a decision', { timeout: 180_000 }, async () => {
    const key = `breaker-${uniqueSuffix()}`;
    const created = await stack.post('/experiments', {
      key,
      name: 'Three checkout flows',
      kind: 'multi_arm',
      owner: 'e2e@expflow',
      variants: [
        { key: 'control', weight: 1 / 3 + 1e-12, control: true },
        { key: 'good', weight: 1 / 3 },
        { key: 'slow', weight: 1 / 3 },
      ],
      config: {
        metrics: [
          { key: 'purchase', event: 'purchase', type: 'binary', role: 'primary' },
          { key: 'latency', event: 'page', type: 'continuous', role: 'guardrail', direction: 'decrease', margin: 0.05 },
        ],
        cycleIntervalSeconds: 3600,
        policy: { kind: 'fixed' },
        decision: { preset: 'balanced' },
        notifications: { channels: [{ kind: 'webhook', url: hook.url, events: ['arm_stopped', 'decision'] }] },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);

    // Cycle 1: slow's latency is 50% worse; purchases are equal everywhere.
    await seed(key, 'p1', { control: { n: 600, conv: 0.1, latency: 100 }, good: { n: 600, conv: 0.1, latency: 100 }, slow: { n: 600, conv: 0.1, latency: 150 } }, 1, 1);
    const first = await stack.post(`/experiments/${key}/run-cycle`, {});
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.decision.outcome).toBe('continue');
    // The workflow ran its first cycle at creation, on no data; the breaker trips at this one.
    const cycle = first.body.cycle as number;
    expect(first.body.decision.rationale).toMatch(/Stopped: slow breaches guardrail latency/);

    const afterStop = await live(key);
    expect(afterStop.stoppedArms).toEqual(['slow']);
    expect(afterStop.cycle).toBe(cycle);
    // Same cycle: the breaker's snapshot (newest) routes slow's share to control.
    expect(afterStop.weights['0']).toEqual({ control: expect.closeTo(2 / 3, 6), good: expect.closeTo(1 / 3, 6), slow: 0 });
    const snap = await db.query<{ step: string; cycle: number; version: number }>(
      'SELECT s.step, s.cycle, s.version FROM "AllocationSnapshot" s JOIN "Experiment" e ON e.id = s."experimentId" WHERE e.key = $1 ORDER BY s.version DESC LIMIT 1',
      [key],
    );
    expect(snap.rows[0]).toMatchObject({ step: 'breaker', cycle, version: afterStop.snapshotVersion });
    const served = await waitFor(async () => {
      const variants = new Set<string>();
      for (let i = 0; i < 60; i++) variants.add((await stack.post('/assign', { experiment: key, unitId: `new-${i}` })).body.variant);
      return variants.has('slow') ? null : variants;
    }, { what: 'API serving the breaker snapshot' });
    expect([...served].sort()).toEqual(['control', 'good']);

    const alert = await waitFor(async () => hook.received.find((w) => w.body.type === 'expflow.arm_stopped' && w.body.experiment === key), { what: 'arm_stopped webhook', timeoutMs: 60_000 });
    expect(alert.body).toMatchObject({ arm: 'slow', rule: 'guardrail', cycle });
    expect(String(alert.body.reason)).toMatch(/relative change \d+\.\d+%/);

    // Re-enabling needs a stopped arm; the re-enable is audited with actor and reason.
    const wrong = await stack.post(`/experiments/${key}/arms/reenable`, { arm: 'good', reason: 'oops' });
    expect(wrong.status).toBe(409);
    expect(wrong.body.error.message).toMatch(/arm: 'good' is not stopped/);
    const noReason = await stack.post(`/experiments/${key}/arms/reenable`, { arm: 'slow' });
    expect(noReason.status).toBe(400);
    expect(JSON.stringify(noReason.body)).toMatch(/reason/);

    // Cycle 2 on data served under the breaker snapshot (control 2/3, good 1/3): good wins.
    await seed(key, 'p2', { control: { n: 3000, conv: 0.1, latency: 100 }, good: { n: 1500, conv: 0.2, latency: 100 } }, afterStop.snapshotVersion, 2);
    const reenabled = await stack.post(`/experiments/${key}/arms/reenable`, { arm: 'slow', actor: 'ops@expflow', reason: 'latency fix deployed' });
    expect(reenabled.status, JSON.stringify(reenabled.body)).toBe(200);
    expect(reenabled.body).toEqual({ arm: 'slow', effectiveFromCycle: cycle + 1 });
    const second = await stack.post(`/experiments/${key}/run-cycle`, {});
    expect(second.body.decision).toMatchObject({ outcome: 'ship', winner: 'good' });

    const audit = await db.query<{ actor: string; reason: string }>(`SELECT actor, reason FROM "AuditLog" WHERE action = 'arm.reenable' AND target = $1`, [`${key}/slow`]);
    expect(audit.rows).toEqual([{ actor: 'local (on behalf of ops@expflow)', reason: 'latency fix deployed' }]);
    const shipped = await waitFor(async () => hook.received.find((w) => w.body.type === 'expflow.decision' && w.body.experiment === key), { what: 'decision webhook', timeoutMs: 60_000 });
    expect(shipped.body).toMatchObject({ outcome: 'ship', winner: 'good' });
    // The route sends decisions and arm stops only: the experiment_ended event was not routed here.
    expect(hook.received.filter((w) => w.body.experiment === key).map((w) => w.body.type).sort()).toEqual(['expflow.arm_stopped', 'expflow.decision']);
  });

  it('holds a decision on a sample-ratio alarm, notifies it, and decides once acknowledged', { timeout: 120_000 }, async () => {
    const key = `srm-${uniqueSuffix()}`;
    const created = await stack.post('/experiments', abExperiment(key, { cycleIntervalSeconds: 3600, policy: { kind: 'fixed' }, webhookUrl: hook.url }));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    // 3000 vs 2400 at 50/50 weights: chi-square p ≈ 3e-16. The lift itself would ship.
    await seed(key, 'u', { control: { n: 3000, conv: 0.1 }, treatment: { n: 2400, conv: 0.18 } }, 1, 3);
    const held = await stack.post(`/experiments/${key}/run-cycle`, {});
    expect(held.body.decision.outcome).toBe('continue');
    expect(held.body.decision.rationale).toMatch(/sample-ratio mismatch \(p=\S+ < 0.001\): decisions held until it clears or is acknowledged/);
    expect((await live(key)).srmAlarm).toBe(true);
    const alarm = await waitFor(async () => hook.received.find((w) => w.body.type === 'expflow.srm_alarm' && w.body.experiment === key), { what: 'srm webhook', timeoutMs: 60_000 });
    expect(alarm.body.observed).toEqual([3000, 2400]);
    expect(alarm.body.pValue as number).toBeLessThan(1e-10);

    const ack = await stack.post(`/experiments/${key}/srm/acknowledge`, { actor: 'analyst@expflow', reason: 'bot filter dropped treatment units; fixed upstream' });
    expect(ack.status, JSON.stringify(ack.body)).toBe(200);
    expect((await live(key)).srmAlarm).toBe(false);
    const twice = await stack.post(`/experiments/${key}/srm/acknowledge`, { reason: 'again' });
    expect(twice.status).toBe(409);

    const decided = await stack.post(`/experiments/${key}/run-cycle`, {});
    expect(decided.body.decision).toMatchObject({ outcome: 'ship', winner: 'treatment' });
    const decisions = (await stack.get(`/experiments/${key}/decisions`)).body.decisions as Array<{ statistics: any }>;
    const notes = decisions.at(-1)!.statistics.notes as Array<{ rule: string; rationale: string }>;
    expect(notes.find((n) => n.rule === 'srm')?.rationale).toMatch(/acknowledged by local \(on behalf of analyst@expflow\): bot filter dropped/);
    // The alarm was notified once, not at every cycle.
    expect(hook.received.filter((w) => w.body.type === 'expflow.srm_alarm' && w.body.experiment === key)).toHaveLength(1);
  });
});
