import { describe, expect, it } from 'vitest';
import { alertAudience, alertConditions, planAlerts, type ExperimentObservation, type Observations } from '../../../domain/alerts/rules.js';

const t = { ingestLagSeconds: 300, snapshotStaleCycles: 3, webhookFailures: 3 };
const now = Date.parse('2026-11-30T12:00:00Z');
const exp = (over: Partial<ExperimentObservation> = {}): ExperimentObservation => ({
  key: 'checkout',
  status: 'running',
  cycleIntervalSeconds: 300,
  latestDecision: { cycle: 4, srm: { alarm: false, pValue: 0.4 }, guardrails: [], stoppedArms: [] },
  latestSnapshotAt: now - 60_000,
  lastError: null,
  recentDeliveries: [],
  ...over,
});
const obs = (experiments: ExperimentObservation[], lag: number | null = null): Observations => ({ now, experiments, ingestOldestWaitingSeconds: lag });
const kinds = (o: Observations) => alertConditions(o, t).map((c) => `${c.kind}:${c.subject}`);

describe('alertConditions', () => {
  it('is quiet for a healthy experiment', () => {
    expect(kinds(obs([exp()], 10))).toEqual([]);
  });

  it.each([
    ['an SRM alarm', exp({ latestDecision: { cycle: 4, srm: { alarm: true, pValue: 1e-6 }, guardrails: [], stoppedArms: [] } }), 'srm:checkout'],
    ['a guardrail breach', exp({ latestDecision: { cycle: 4, srm: null, guardrails: [{ arm: 'b', metric: 'latency', harmful: true, estimate: 0.1, adjustedP: 0.01 }], stoppedArms: [] } }), 'guardrail:checkout/b/latency'],
    ['a failed cycle', exp({ lastError: { cycle: 5, message: 'db down', at: '2026-11-30T11:59:00Z' } }), 'cycle_failed:checkout'],
    ['three failed deliveries in a row', exp({ recentDeliveries: ['failed', 'failing', 'pending', 'failed', 'delivered'] }), 'webhook_failing:checkout'],
    ['a snapshot older than 3 cycles', exp({ latestSnapshotAt: now - 901_000 }), 'snapshot_stale:checkout'],
  ])('flags %s', (_what, e, expected) => {
    expect(kinds(obs([e]))).toEqual([expected]);
  });

  it('does not flag what is not yet a pattern or no longer live', () => {
    expect(kinds(obs([exp({ recentDeliveries: ['failed', 'failed', 'delivered'] })]))).toEqual([]);
    expect(kinds(obs([exp({ recentDeliveries: ['failed', 'failed'] })]))).toEqual([]);
    // Snapshots stop by design once paused; a concluded experiment's old SRM is history.
    expect(kinds(obs([exp({ status: 'paused', latestSnapshotAt: now - 10 * 3600_000 })]))).toEqual([]);
    expect(kinds(obs([exp({ status: 'concluded', latestDecision: { cycle: 4, srm: { alarm: true, pValue: 1e-9 }, guardrails: [], stoppedArms: [] } })]))).toEqual([]);
    expect(kinds(obs([exp({ latestSnapshotAt: now - 899_000 })]))).toEqual([]);
  });

  it('flags ingestion lag over the threshold only', () => {
    expect(kinds(obs([], 300))).toEqual([]);
    expect(kinds(obs([], 301))).toEqual(['ingest_lag:events-queue']);
  });
});

describe('planAlerts', () => {
  const srm = alertConditions(obs([exp({ latestDecision: { cycle: 4, srm: { alarm: true, pValue: 1e-6 }, guardrails: [], stoppedArms: [] } })]), t);

  it('raises the first episode once, then nothing while it stays open', () => {
    expect(planAlerts(srm, []).fire.map((f) => f.key)).toEqual(['srm:checkout:1']);
    expect(planAlerts(srm, [{ kind: 'srm', subject: 'checkout', episodes: 1, openKey: 'srm:checkout:1' }])).toEqual({ fire: [], resolve: [] });
  });

  it('resolves when the condition clears and raises a new episode when it returns', () => {
    expect(planAlerts([], [{ kind: 'srm', subject: 'checkout', episodes: 1, openKey: 'srm:checkout:1' }])).toEqual({ fire: [], resolve: ['srm:checkout:1'] });
    expect(planAlerts(srm, [{ kind: 'srm', subject: 'checkout', episodes: 1, openKey: null }]).fire.map((f) => f.key)).toEqual(['srm:checkout:2']);
  });
});

describe('alertAudience', () => {
  const guardrail = (stoppedArms: string[]) =>
    alertConditions(obs([exp({ latestDecision: { cycle: 4, srm: { alarm: true, pValue: 1e-6 }, guardrails: [{ arm: 'b', metric: 'latency', harmful: true, estimate: 0.1, adjustedP: 0.01 }], stoppedArms } })]), t);

  it('leaves to the decide step what it announces itself, so a channel hears of an event once', () => {
    const [srm, stopped] = guardrail(['b']);
    // srm_alarm and arm_stopped come from the decide step: operators only.
    expect(alertAudience(srm!)).toEqual({ ops: true, experiment: false });
    expect(alertAudience(stopped!)).toEqual({ ops: true, experiment: false });
    // A breach the breaker did not stop is announced by nothing else: the experiment hears it.
    expect(alertAudience(guardrail([])[1]!)).toEqual({ ops: true, experiment: true });
  });

  it('sends system alerts to operators and failures no decision reports to both', () => {
    const [cycle] = alertConditions(obs([exp({ lastError: { cycle: 5, message: 'db down', at: '2026-11-30T11:59:00Z' } })]), t);
    expect(alertAudience(cycle!)).toEqual({ ops: true, experiment: true });
    const [hook] = alertConditions(obs([exp({ recentDeliveries: ['failed', 'failed', 'failed'] })]), t);
    expect(alertAudience(hook!)).toEqual({ ops: true, experiment: false });
    const [lag] = alertConditions(obs([], 900), t);
    expect(alertAudience(lag!)).toEqual({ ops: true, experiment: false });
  });
});
