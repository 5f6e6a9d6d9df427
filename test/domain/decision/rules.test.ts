/**
 * The decision policy's rules, one table each, and the presets end to end on the same data.
 */
import { describe, expect, it } from 'vitest';
import { armWeightActions, applyWeightActions, routeStoppedArms } from '../../../domain/decision/arm-weights.js';
import { bayesianArm, bayesianVerdict } from '../../../domain/decision/bayesian-evidence.js';
import { decideExperiment } from '../../../domain/decision/decide-experiment.js';
import { advanceLooks, designPower, detectableLift, fixedHorizonArm, planPower, planSamplePerArm } from '../../../domain/decision/fixed-horizon.js';
import { guardrailBreaches } from '../../../domain/decision/guardrails.js';
import { adjustFamily, analyzeArms, classify } from '../../../domain/decision/analyze-arms.js';
import { PRESET_POLICIES, decisionPolicySchema, resolvePolicy, type DecisionPolicy } from '../../../domain/decision/policy.js';
import { clearsMinimumLift } from '../../../domain/decision/practical-significance.js';
import { checkReadiness, requiredRuntimeHours } from '../../../domain/decision/readiness.js';
import { endArmReason, segmentArmEffect, segmentGuardrailBlocks, segmentLevelDecisions } from '../../../domain/decision/segment-conclusions.js';
import { holdForSampleRatio } from '../../../domain/decision/srm-hold.js';
import type { DecideExperimentInput } from '../../../domain/decision/types.js';
import { normalQuantile } from '../../../domain/stats/normal.js';
import type { CellStats, MetricSpec } from '../../../domain/types.js';

const conv: MetricSpec = { key: 'conv', event: 'purchase', type: 'binary', role: 'primary', direction: 'increase' };
const latency: MetricSpec = { key: 'latency', event: 'page', type: 'continuous', role: 'guardrail', direction: 'decrease', margin: 0.02 };
const latencyLimit: MetricSpec = { key: 'latency', event: 'page', type: 'continuous', role: 'guardrail', direction: 'decrease', limit: { max: 100 } };

function binary(metric: string, variant: string, n: number, rate: number, period = 1, segment = 0): CellStats {
  const s = Math.round(n * rate);
  return { metric, variant, segment, period, moments: { n, sum: s, sumSquares: s } };
}
function continuous(metric: string, variant: string, n: number, mean: number, sd: number, period = 1, segment = 0): CellStats {
  return { metric, variant, segment, period, moments: { n, sum: n * mean, sumSquares: (n - 1) * sd * sd + n * mean * mean } };
}
const DAY = 86_400_000;

describe('readiness rule', () => {
  const rows: Array<[string, { units: Record<string, number>; min: number; hours: number; weeks: boolean; ranDays: number }, { sample: boolean; runtime: boolean; text: RegExp }]> = [
    ['too few units', { units: { A: 50, B: 500 }, min: 100, hours: 0, weeks: false, ranDays: 1 }, { sample: false, runtime: true, text: /smallest arm A has 50/ }],
    ['enough units, no runtime minimum', { units: { A: 100, B: 500 }, min: 100, hours: 0, weeks: false, ranDays: 0 }, { sample: true, runtime: true, text: /every arm has ≥ 100 units/ }],
    ['runtime short', { units: { A: 500, B: 500 }, min: 100, hours: 48, weeks: false, ranDays: 1 }, { sample: true, runtime: false, text: /ran 24 h of the 48 h minimum/ }],
    ['whole weeks round 48 h up to 168 h', { units: { A: 500, B: 500 }, min: 100, hours: 48, weeks: true, ranDays: 3 }, { sample: true, runtime: false, text: /of the 168 h minimum runtime \(whole weeks\)/ }],
    ['whole weeks reached', { units: { A: 500, B: 500 }, min: 100, hours: 48, weeks: true, ranDays: 7 }, { sample: true, runtime: true, text: /ran 168 h ≥ 168 h/ }],
  ];
  it.each(rows)('%s', (_name, i, want) => {
    const r = checkReadiness({ armUnits: i.units, minSamplePerArm: i.min, minRuntimeHours: i.hours, wholeWeeks: i.weeks, startedAt: 0, now: i.ranDays * DAY });
    expect([r.sampleReached, r.runtimeReached]).toEqual([want.sample, want.runtime]);
    expect(r.note.rationale).toMatch(want.text);
  });
  it('rounds to whole weeks, at least one', () => {
    expect([requiredRuntimeHours(0, true), requiredRuntimeHours(169, true), requiredRuntimeHours(30, false)]).toEqual([168, 336, 30]);
  });
});

describe('sample-ratio hold rule', () => {
  const rows: Array<[string, boolean, { actor: string; reason: string } | null, boolean, RegExp]> = [
    ['no alarm', false, null, false, /sample ratio ok \(p=0.5/],
    ['alarm holds', true, null, true, /mismatch \(p=1.00e-5 < 0.001\): decisions held/],
    ['alarm acknowledged', true, { actor: 'ana', reason: 'bot traffic filtered upstream' }, false, /acknowledged by ana: bot traffic/],
  ];
  it.each(rows)('%s', (_name, alarm, ack, hold, text) => {
    const r = holdForSampleRatio({ alarm, pValue: alarm ? 1e-5 : 0.5, threshold: 0.001 }, ack);
    expect(r.hold).toBe(hold);
    expect(r.note.rationale).toMatch(text);
  });
});

describe('practical-significance rule', () => {
  const rows: Array<[string, [number, number] | null, 'increase' | 'decrease', number, boolean]> = [
    ['no minimum', [-0.01, 0.05], 'increase', 0, true],
    ['interval clears +1%', [0.012, 0.05], 'increase', 0.01, true],
    ['interval reaches below +1%', [0.005, 0.05], 'increase', 0.01, false],
    ['lower is better: −3%..−1.5% clears 1%', [-0.03, -0.015], 'decrease', 0.01, true],
    ['relative lift undefined', null, 'increase', 0.01, false],
  ];
  it.each(rows)('%s', (_name, ci, direction, minLift, clears) => {
    const r = clearsMinimumLift({ arm: 'B', relativeCi: ci, direction, minLift });
    expect(r.clears).toBe(clears);
    if (minLift > 0 && ci) expect(r.note.rationale).toContain(`minimum ${(100 * minLift).toFixed(2)}%`);
  });
});

describe('guardrail rule (circuit breaker)', () => {
  const analysed = (metrics: MetricSpec[], cells: CellStats[]) => {
    const results = analyzeArms({ metrics, cells, control: 'A', variants: ['A', 'B'], alpha: 0.05 });
    adjustFamily(results, 'holm');
    classify(results, metrics, 0.05);
    return results;
  };
  const rows: Array<[string, MetricSpec, CellStats[], string[]]> = [
    ['relative harm beyond the 2% margin', latency, [continuous('latency', 'A', 20000, 300, 50), continuous('latency', 'B', 20000, 330, 50)], ['B margin']],
    ['relative harm within the margin', latency, [continuous('latency', 'A', 200000, 300, 50), continuous('latency', 'B', 200000, 301.5, 50)], []],
    ['absolute limit: mean 110 ms > 100 ms', latencyLimit, [continuous('latency', 'A', 5000, 90, 20), continuous('latency', 'B', 5000, 110, 20)], ['B limit']],
    ['absolute limit: mean 99 ms, interval reaches 100', latencyLimit, [continuous('latency', 'A', 5000, 90, 20), continuous('latency', 'B', 5000, 99.5, 20)], []],
  ];
  it.each(rows)('%s', (_name, metric, cells, want) => {
    const breaches = guardrailBreaches({ results: analysed([conv, metric], cells), metrics: [conv, metric], cells, arms: ['B'], alpha: 0.05 });
    expect(breaches.map((b) => `${b.arm} ${b.kind}`)).toEqual(want);
    for (const b of breaches) expect(b.note.rationale).toMatch(b.kind === 'limit' ? /mean 110 with always-valid interval \[\d+(\.\d+)?, \d+(\.\d+)?\]/ : /beyond the 2.00% margin/);
  });
  it('guards a minimum too', () => {
    const floor: MetricSpec = { key: 'rev', event: 'rev', type: 'continuous', role: 'guardrail', direction: 'increase', limit: { min: 10 } };
    const cells = [continuous('rev', 'A', 5000, 12, 3), continuous('rev', 'B', 5000, 8, 3)];
    expect(guardrailBreaches({ results: analysed([floor], cells), metrics: [floor], cells, arms: ['B'], alpha: 0.05 }).map((b) => b.kind)).toEqual(['limit']);
  });
});

describe('fixed-horizon method', () => {
  it('plans the sample size of the two-proportion power calculation (statsmodels convention)', () => {
    // p0 = 10%, p1 = 10.5% (mde 5%), α = 0.05, power 0.8: n = ((z₀.₉₇₅·sd₀ + z₀.₈·sd₁)/δ)².
    const p0 = 0.1;
    const p1 = 0.105;
    const pooled = (p0 + p1) / 2;
    const hand = ((normalQuantile(0.975) * Math.sqrt(2 * pooled * (1 - pooled)) + normalQuantile(0.8) * Math.sqrt(p0 * (1 - p0) + p1 * (1 - p1))) / (p1 - p0)) ** 2;
    const n = planSamplePerArm({ metricType: 'binary', control: { n: 10000, sum: 1000, sumSquares: 1000 }, mde: 0.05, alpha: 0.05, power: 0.8, comparisons: 1 });
    expect(n).toBe(Math.ceil(hand));
    expect(n).toBeGreaterThan(57000);
    expect(n).toBeLessThan(58500);
    // Bonferroni over two arms plans more units.
    expect(planSamplePerArm({ metricType: 'binary', control: { n: 10000, sum: 1000, sumSquares: 1000 }, mde: 0.05, alpha: 0.05, power: 0.8, comparisons: 2 })!).toBeGreaterThan(n!);
    expect(planSamplePerArm({ metricType: 'binary', control: { n: 1, sum: 0, sumSquares: 0 }, mde: 0.05, alpha: 0.05, power: 0.8, comparisons: 1 })).toBeNull();
  });
  const looks: Array<[string, number[], number, { analyse: boolean; final: boolean; looks: number[] }]> = [
    ['first look below 10%', [], 0.05, { analyse: false, final: false, looks: [] }],
    ['first interim at 12%', [], 0.12, { analyse: true, final: false, looks: [0.12] }],
    ['no new look before +10%', [0.12], 0.2, { analyse: false, final: false, looks: [0.12] }],
    ['final look at 100%', [0.12, 0.5], 1.3, { analyse: true, final: true, looks: [0.12, 0.5, 1] }],
    ['after the final look', [0.5, 1], 1.4, { analyse: false, final: true, looks: [0.5, 1] }],
  ];
  it.each(looks)('%s', (_name, before, t, want) => expect(advanceLooks(before, t)).toEqual(want));
  it('quotes the plan\'s power, the design\'s, and the detectable lift', () => {
    const control = { n: 10000, sum: 1000, sumSquares: 1000 };
    const n = planSamplePerArm({ metricType: 'binary', control, mde: 0.05, alpha: 0.05, power: 0.8, comparisons: 1 })!;
    expect(planPower({ metricType: 'binary', control, mde: 0.05, alpha: 0.05, comparisons: 1, n })!).toBeCloseTo(0.8, 2);
    // The detectable lift at the planned n is the planned mde.
    expect(detectableLift({ metricType: 'binary', control, alpha: 0.05, power: 0.8, comparisons: 1, n })!).toBeCloseTo(0.05, 3);
    // One final look is the fixed design (power 0.8); O'Brien–Fleming interim looks cost little, Pocock more.
    expect(designPower([], 0.05, 0.8, 'obrien-fleming')).toBeCloseTo(0.8, 3);
    const obf = designPower([0.2, 0.4, 0.6, 0.8], 0.05, 0.8, 'obrien-fleming');
    const pocock = designPower([0.2, 0.4, 0.6, 0.8], 0.05, 0.8, 'pocock');
    expect(obf).toBeLessThan(0.8);
    expect(obf).toBeGreaterThan(0.78);
    expect(pocock).toBeLessThan(obf);
  });
  it('uses the O\'Brien–Fleming boundary: strict early, ≈ 1.96 at the end of a single look', () => {
    const cells = [binary('conv', 'A', 10000, 0.1), binary('conv', 'B', 10000, 0.11)];
    const early = fixedHorizonArm({ cells, metric: conv, control: 'A', arm: 'B', alpha: 0.05, comparisons: 1, looks: [0.2] });
    const single = fixedHorizonArm({ cells, metric: conv, control: 'A', arm: 'B', alpha: 0.05, comparisons: 1, looks: [1] });
    expect(early.boundary).toBeGreaterThan(4);
    expect(single.boundary).toBeCloseTo(1.96, 2);
    // z = 0.01 / sqrt(0.1·0.9/1e4 + 0.11·0.89/1e4) ≈ 2.31: past 1.96, not past the early boundary.
    expect(single.z).toBeCloseTo(0.01 / Math.sqrt((0.1 * 0.9 + 0.11 * 0.89) / 10000), 3);
    expect([early.better, single.better]).toEqual([false, true]);
    expect(single.note.rationale).toMatch(/z=2.3\d* vs O'Brien–Fleming ±1.96/);
  });
});

describe('Bayesian method', () => {
  const rows: Array<[string, CellStats[], { better: boolean; harmful: boolean }]> = [
    ['clear winner', [binary('conv', 'A', 10000, 0.1), binary('conv', 'B', 10000, 0.115)], { better: true, harmful: false }],
    ['undecided', [binary('conv', 'A', 1000, 0.1), binary('conv', 'B', 1000, 0.105)], { better: false, harmful: false }],
    ['clear loser', [binary('conv', 'A', 10000, 0.1), binary('conv', 'B', 10000, 0.085)], { better: false, harmful: true }],
  ];
  it.each(rows)('%s', (_name, cells, want) => {
    const b = bayesianArm(cells, conv, 'A', 'B', 0.05);
    const v = bayesianVerdict(b, { chanceToWin: 0.95, maxExpectedLoss: 0.0025 });
    expect({ better: v.better, harmful: v.harmful }).toEqual(want);
    expect(v.note.rationale).toMatch(/chance to beat control \d+\.\d\d% \(threshold 95.00%\), expected loss/);
  });
});

describe('per-arm weight rule', () => {
  const rows: Array<[string, Record<string, number>, string[]]> = [
    ['raise a likely best arm', { A: 0.02, B: 0.95, C: 0.03 }, ['B raise', 'C lower']],
    ['nothing in between', { A: 0.3, B: 0.4, C: 0.3 }, []],
    ['control is never acted on', { A: 0.99, B: 0.005, C: 0.005 }, ['B lower', 'C lower']],
  ];
  it.each(rows)('%s', (_name, pBest, want) => {
    const actions = armWeightActions({ probabilityBest: pBest, control: 'A', raiseWeightAbove: 0.9, lowerWeightBelow: 0.05 });
    expect(actions.map((a) => `${a.arm} ${a.action}`)).toEqual(want);
  });
  it('steps weights, renormalises, and routes stopped arms to control', () => {
    const w = applyWeightActions({ A: 0.4, B: 0.3, C: 0.3 }, [{ arm: 'B', action: 'raise' }], 0.2, ['C'], 'A');
    // B 0.36, C → control: A 0.7; total 1.06.
    expect(w.A).toBeCloseTo(0.7 / 1.06, 9);
    expect(w.B).toBeCloseTo(0.36 / 1.06, 9);
    expect(w.C).toBe(0);
    expect(routeStoppedArms({ A: 0, B: 1 }, ['B'], 'A')).toEqual({ A: 1, B: 0 });
  });
});

describe('segment rules', () => {
  it('ends a starved harmed arm on the posterior, which the always-valid rule alone cannot conclude', () => {
    // The bandit left the harmed arm at 10%: 300 units at 6% against 2700 at 10%.
    const cells = [binary('conv', 'A', 2700, 0.1, 1, 1), binary('conv', 'B', 300, 0.06, 1, 1)];
    const base = { cells, metric: conv, segments: [1], variants: ['A', 'B'], control: 'A', alpha: 0.05 };
    expect(segmentLevelDecisions(base).decisions[0]?.outcome).toBe('none');
    const ended = segmentLevelDecisions({ ...base, endArm: { belowChanceToWin: 0.05, maxExpectedLoss: 0.0025, minSample: 100 } });
    expect(ended.decisions[0]?.outcome).toBe('end');
    expect(ended.decisions[0]?.reason).toMatch(/segment 1 B: ended, serve control \(chance to beat control 0\.\d\d% ≤ 5.00%, expected loss of serving control 0\.\d\d% ≤ 0.25%, 300 units\)/);
    // An ended arm stays ended, whatever later looks show.
    const later = segmentLevelDecisions({ ...base, cells: [binary('conv', 'A', 2700, 0.1, 1, 1), binary('conv', 'B', 300, 0.1, 1, 1)], previous: ended.state, endArm: { belowChanceToWin: 0.05, maxExpectedLoss: 0.0025, minSample: 100 } });
    expect(later.decisions[0]?.outcome).toBe('end');
  });
  it('does not end an arm below its minimum sample or with a real chance to win', () => {
    const rule = { belowChanceToWin: 0.05, maxExpectedLoss: 0.0025, minSample: 100 };
    const effect = (t: CellStats) => segmentArmEffect([binary('conv', 'A', 2700, 0.1, 1, 1), t], { metric: 'conv', metricType: 'binary', segment: 1, control: 'A', treatment: 'B' });
    const control = { n: 2700, sum: 270, sumSquares: 270 };
    expect(endArmReason(effect(binary('conv', 'B', 60, 0.0, 1, 1)), control, { segmentId: 1, arm: 'B', direction: 'increase', rule })).toBeNull();
    expect(endArmReason(effect(binary('conv', 'B', 300, 0.095, 1, 1)), control, { segmentId: 1, arm: 'B', direction: 'increase', rule })).toBeNull();
  });
  it('does not ship a segment while a guardrail is harmed there, or the arm is stopped', () => {
    const cells = [
      binary('conv', 'A', 20000, 0.1, 1, 1), binary('conv', 'B', 20000, 0.13, 1, 1),
      continuous('latency', 'A', 20000, 300, 50, 1, 1), continuous('latency', 'B', 20000, 340, 50, 1, 1),
      binary('conv', 'A', 20000, 0.1, 1, 2), binary('conv', 'B', 20000, 0.13, 1, 2),
      continuous('latency', 'A', 20000, 300, 50, 1, 2), continuous('latency', 'B', 20000, 300, 50, 1, 2),
    ];
    const blocked = segmentGuardrailBlocks({ cells, metrics: [conv, latency], segments: [1, 2], variants: ['A', 'B'], control: 'A', alpha: 0.05, stoppedArms: [] });
    expect(Object.keys(blocked)).toEqual(['1:B']);
    const base = { cells, metric: conv, segments: [1, 2], variants: ['A', 'B'], control: 'A', alpha: 0.05 };
    expect(segmentLevelDecisions(base).decisions.map((d) => d.outcome)).toEqual(['ship', 'ship']);
    const guarded = segmentLevelDecisions({ ...base, blocked }).decisions;
    expect(guarded.map((d) => d.outcome)).toEqual(['none', 'ship']);
    expect(guarded[0]?.reason).toMatch(/better but not shipped, guardrail harmed in segment 1: B breaches guardrail latency/);
    const stopped = segmentGuardrailBlocks({ cells, metrics: [conv, latency], segments: [1, 2], variants: ['A', 'B'], control: 'A', alpha: 0.05, stoppedArms: ['B'] });
    expect(Object.values(stopped)).toEqual(['B is stopped by the circuit breaker', 'B is stopped by the circuit breaker']);
  });
});

describe('presets', () => {
  const healthy = (arms: string[], n = 20000) => arms.map((v) => continuous('latency', v, n, 300, 50));
  const input = (policy: DecisionPolicy, cells: CellStats[], extra: Partial<DecideExperimentInput> = {}): DecideExperimentInput => ({
    metrics: [conv, latency], cells, control: 'A', variants: ['A', 'B'], alpha: 0.05, look: 5, policy, minSamplePerArm: 100, startedAt: 0, now: 8 * DAY, ...extra,
  });
  // +12% lift on 20k per arm: significant, interval ≈ [+4%, +20%].
  const strong = [binary('conv', 'A', 20000, 0.1), binary('conv', 'B', 20000, 0.112), ...healthy(['A', 'B'])];
  // +4% on 3000 per arm: the always-valid interval still covers 0; the posterior already favours B.
  const early = [binary('conv', 'A', 3000, 0.1), binary('conv', 'B', 3000, 0.125), ...healthy(['A', 'B'], 3000)];
  const rows: Array<[string, DecisionPolicy, CellStats[], Partial<DecideExperimentInput>, string, RegExp]> = [
    ['balanced ships a clear winner', PRESET_POLICIES.balanced, strong, {}, 'ship', /B beats A on conv \(B: always-valid lift 12.00%/],
    ['balanced waits on early data', PRESET_POLICIES.balanced, early, {}, 'continue', /confidence sequences allow another look/],
    ['fast (Bayesian) ships on early data', PRESET_POLICIES.fast, early, {}, 'ship', /chance to beat control 99\.\d\d%/],
    ['cautious waits for whole weeks', PRESET_POLICIES.cautious, strong, { now: 3 * DAY }, 'continue', /ran 72 h of the 168 h minimum runtime \(whole weeks\)/],
    ['cautious ships after a week when the interval clears +1%', PRESET_POLICIES.cautious, strong, {}, 'ship', /B beats A/],
    ['cautious does not ship a lift whose interval reaches below +1%', PRESET_POLICIES.cautious, [binary('conv', 'A', 20000, 0.1), binary('conv', 'B', 20000, 0.108), ...healthy(['A', 'B'])], {}, 'continue', /no significant difference yet/],
    ['cautious needs 1000 units per arm', PRESET_POLICIES.cautious, [binary('conv', 'A', 500, 0.1), binary('conv', 'B', 500, 0.3)], {}, 'continue', /waiting for 1000 units per arm/],
  ];
  it.each(rows)('%s', (_name, policy, cells, extra, outcome, text) => {
    const d = decideExperiment(input(policy, cells, extra));
    expect(d.outcome).toBe(outcome);
    expect(d.rationale).toMatch(text);
  });

  it('fixed horizon decides only at planned looks, and ends inconclusive at the horizon', () => {
    const policy = { ...PRESET_POLICIES.balanced, method: 'fixed_horizon' as const, plannedSamplePerArm: 10000 };
    const at = (n: number, rate: number, plan: DecideExperimentInput['plan'] = null) => decideExperiment(input(policy, [binary('conv', 'A', n, 0.1), binary('conv', 'B', n, rate), ...healthy(['A', 'B'], n)], { plan }));
    const first = at(500, 0.1);
    expect(first.plan).toEqual({ plannedSamplePerArm: 10000, looks: [] });
    expect(first.rationale).toMatch(/500 of 10000 planned units per arm \(5%\)/);
    const interim = at(3000, 0.11, first.plan);
    expect(interim.plan?.looks).toEqual([0.3]);
    expect(interim.outcome).toBe('continue');
    const final = at(10000, 0.1, interim.plan);
    expect(final.outcome).toBe('stop_futility');
    expect(final.rationale).toMatch(/fixed horizon of 10000 units per arm reached/);
    const win = at(10000, 0.115, interim.plan);
    expect(win.outcome).toBe('ship');
  });

  it('a 4-arm test keeps its three good arms when one harms', () => {
    const cells = [binary('conv', 'A', 20000, 0.1), binary('conv', 'B', 20000, 0.08), binary('conv', 'C', 20000, 0.101), binary('conv', 'D', 20000, 0.102), ...healthy(['A', 'B', 'C', 'D'])];
    const d = decideExperiment(input(PRESET_POLICIES.balanced, cells, { variants: ['A', 'B', 'C', 'D'] }));
    expect(d.outcome).toBe('continue');
    expect(d.stopArms).toEqual([expect.objectContaining({ arm: 'B', rule: 'harm' })]);
    // Next look: B already stopped, C proven better — ships.
    const next = decideExperiment(input(PRESET_POLICIES.balanced, [...cells.filter((c) => !(c.metric === 'conv' && c.variant === 'C')), binary('conv', 'C', 20000, 0.125)], { variants: ['A', 'B', 'C', 'D'], stoppedArms: ['B'] }));
    expect(next.outcome).toBe('ship');
    expect(next.winner).toBe('C');
  });

  it('an SRM alarm holds a ship until acknowledged; harm protection still acts', () => {
    const srm = { alarm: true, pValue: 1e-6, threshold: 0.001 };
    const held = decideExperiment(input(PRESET_POLICIES.balanced, strong, { srm }));
    expect([held.outcome, held.srmHold]).toEqual(['continue', true]);
    const acked = decideExperiment(input(PRESET_POLICIES.balanced, strong, { srm, srmAcknowledged: { actor: 'ana', reason: 'known logging gap' } }));
    expect(acked.outcome).toBe('ship');
    const harmful = decideExperiment(input(PRESET_POLICIES.balanced, [binary('conv', 'A', 20000, 0.1), binary('conv', 'B', 20000, 0.08)], { srm }));
    expect(harmful.outcome).toBe('stop_harm');
  });

  it('an operator-re-enabled arm is not stopped again by the breaker', () => {
    const cells = [binary('conv', 'A', 20000, 0.1), binary('conv', 'B', 20000, 0.1), binary('conv', 'C', 20000, 0.1), continuous('latency', 'A', 20000, 300, 50), continuous('latency', 'B', 20000, 330, 50), continuous('latency', 'C', 20000, 300, 50)];
    expect(decideExperiment(input(PRESET_POLICIES.balanced, cells, { variants: ['A', 'B', 'C'] })).stopArms.map((s) => s.arm)).toEqual(['B']);
    expect(decideExperiment(input(PRESET_POLICIES.balanced, cells, { variants: ['A', 'B', 'C'], exemptArms: ['B'] })).stopArms).toEqual([]);
  });

  it('resolves a preset with overrides, and rejects bad thresholds naming the field', () => {
    const p = resolvePolicy(decisionPolicySchema.parse({ preset: 'cautious', minLift: 0.02, arms: { stopOnHarm: false } }));
    expect([p.method, p.minLift, p.wholeWeeks, p.arms.stopOnHarm, p.arms.stopOnGuardrail]).toEqual(['sequential', 0.02, true, false, true]);
    const bad = decisionPolicySchema.safeParse({ preset: 'fast', arms: { raiseWeightAbove: 0.2, lowerWeightBelow: 0.5 } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['arms', 'lowerWeightBelow']);
    expect(decisionPolicySchema.safeParse({ preset: 'reckless' }).success).toBe(false);
  });
});
