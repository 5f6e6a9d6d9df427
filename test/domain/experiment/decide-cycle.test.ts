/** The sample-ratio veto as decideCycle applies it: when an alarm starts, what it holds, and which acknowledgement lifts it. */
import { describe, expect, it } from 'vitest';
import { decideCycle, type CycleOperatorAction, type DecideCycleInput } from '../../../domain/experiment/decide-cycle.js';
import { experimentConfigSchema } from '../../../domain/experiment/config.js';
import { buildSnapshot, type ExperimentDefinition } from '../../../domain/experiment/snapshot.js';
import type { CellStats } from '../../../domain/types.js';

const def: ExperimentDefinition = {
  key: 'srm',
  seed: 'seed',
  hashVersion: 1,
  variants: [
    { key: 'control', isControl: true, weight: 0.5 },
    { key: 'b', isControl: false, weight: 0.5 },
  ],
  config: experimentConfigSchema.parse({
    metrics: [{ key: 'conv', event: 'purchase', type: 'binary', role: 'primary' }],
    minSamplePerArm: 100,
  }),
};
const snapshot = buildSnapshot(def, {
  version: 1,
  cycle: 1,
  phase: 'running',
  segments: [{ id: 0, status: 'active', coverage: 1, weights: { control: 0.5, b: 0.5 }, centroid: null }],
  segmentFeatures: [],
  reason: 'test',
  now: '2026-01-01T00:00:00.000Z',
});

function binary(variant: string, n: number, rate: number): CellStats {
  const s = Math.round(n * rate);
  return { metric: 'conv', variant, segment: 0, period: 1, moments: { n, sum: s, sumSquares: s } };
}
// b is far better (would ship), but 10,000 vs 8,000 units under 50/50 weights is a mismatch (p ≈ 1e-50).
const mismatched = [binary('control', 10_000, 0.1), binary('b', 8_000, 0.15)];
const balanced = [binary('control', 10_000, 0.1), binary('b', 10_000, 0.15)];

function decide(cells: CellStats[], extra: Partial<DecideCycleInput> = {}) {
  return decideCycle({
    def,
    cycle: 5,
    cells,
    segments: { enabled: false, ids: [0] },
    terminated: new Set(),
    snapshots: new Map([[1, snapshot]]),
    previous: undefined,
    actions: [],
    startedAt: 0,
    now: 86_400_000,
    ...extra,
  });
}
const ack = (cycle: number): CycleOperatorAction => ({ kind: 'srm.acknowledge', arm: null, actor: 'ana', reason: 'known logging gap', cycle });

describe('decideCycle: the sample-ratio veto', () => {
  it('without a mismatch the winner ships', () => {
    const d = decide(balanced);
    expect([d.outcome, d.winner, d.srm.alarm, d.srmAlarmSince, d.decision.srmHold]).toEqual(['ship', 'b', false, null, false]);
  });

  it('a mismatch holds the decision, and the alarm starts at this look', () => {
    const d = decide(mismatched);
    expect(d.srm.alarm).toBe(true);
    expect([d.outcome, d.winner, d.srmAlarmSince, d.decision.srmHold]).toEqual(['continue', null, 5, true]);
    expect(d.rationale).toContain('sample-ratio mismatch');
  });

  it('an alarm in force keeps the look it started at', () => {
    const d = decide(mismatched, { previous: { segmentDecisions: [], segmentPMin: {}, srmAlarmSince: 3 } });
    expect(d.srmAlarmSince).toBe(3);
  });

  it('only an acknowledgement given since the alarm started lifts the hold', () => {
    const previous = { segmentDecisions: [], segmentPMin: {}, srmAlarmSince: 3 };
    const stale = decide(mismatched, { previous, actions: [ack(2)] });
    expect([stale.outcome, stale.decision.srmHold]).toEqual(['continue', true]);
    const current = decide(mismatched, { previous, actions: [ack(3)] });
    expect([current.outcome, current.winner, current.decision.srmHold]).toEqual(['ship', 'b', false]);
    expect(current.decision.notes.find((n) => n.rule === 'srm')?.rationale).toContain('acknowledged by ana: known logging gap');
  });

  it('a cleared alarm ends: the next mismatch starts a new one', () => {
    expect(decide(balanced, { previous: { segmentDecisions: [], segmentPMin: {}, srmAlarmSince: 3 } }).srmAlarmSince).toBeNull();
  });
});
