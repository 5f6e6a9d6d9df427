import { describe, expect, it } from 'vitest';
import { evaluatePolicy, inferFeatures, loggingDistribution, type EvaluationRow } from '../../../domain/evaluation/evaluate-policy.js';
import { replayDecisions, sameCells, type ReplayCycle } from '../../../domain/evaluation/replay.js';
import { evaluationRequestSchema, parseDuration } from '../../../domain/evaluation/request.js';
import { evaluateRunningWindows, windowEnds } from '../../../domain/evaluation/running-window.js';
import { resolveTargetPolicy, targetPolicySchema, TargetPolicyError } from '../../../domain/evaluation/target-policy.js';
import { experimentConfigSchema } from '../../../domain/experiment/config.js';
import { createRng } from '../../../domain/rng.js';
import type { AllocationSnapshot, CellStats } from '../../../domain/types.js';

const variants = [
  { key: 'control', isControl: true },
  { key: 'b', isControl: false },
  { key: 'c', isControl: false },
];
const ctx = { variants, armStats: {}, metricType: 'binary' as const, direction: 'increase' as const };
const round = (context: Record<string, string | number>) => ({ context, loggingDist: [0.5, 0.25, 0.25] });

describe('target policies', () => {
  it('fixed weights are normalised; always, uniform and logging give the expected rows', () => {
    expect(resolveTargetPolicy(targetPolicySchema.parse({ kind: 'fixed', weights: { control: 2, b: 2 } }), ctx)(round({}))).toEqual([0.5, 0.5, 0]);
    expect(resolveTargetPolicy({ kind: 'always', arm: 'c' }, ctx)(round({}))).toEqual([0, 0, 1]);
    expect(resolveTargetPolicy({ kind: 'uniform' }, ctx)(round({}))).toEqual([1 / 3, 1 / 3, 1 / 3]);
    expect(resolveTargetPolicy({ kind: 'logging' }, ctx)(round({}))).toEqual([0.5, 0.25, 0.25]);
  });

  it('a contextual rule picks the first matching branch, else otherwise', () => {
    const p = targetPolicySchema.parse({
      kind: 'contextual',
      rules: [
        { when: { attr: 'device', op: 'eq', value: 'ios' }, arm: 'b' },
        { when: { attr: 'tenure', op: 'range', min: 10 }, weights: { control: 1, c: 1 } },
      ],
      otherwise: { arm: 'control' },
    });
    const pi = resolveTargetPolicy(p, ctx);
    expect(pi(round({ device: 'ios', tenure: 50 }))).toEqual([0, 1, 0]);
    expect(pi(round({ device: 'android', tenure: 50 }))).toEqual([0.5, 0, 0.5]);
    expect(pi(round({ device: 'android', tenure: 1 }))).toEqual([1, 0, 0]);
  });

  it('a bandit target takes the weights its allocation policy would set from the logged outcomes', () => {
    const armStats = { control: { n: 1000, sum: 100, sumSquares: 100 }, b: { n: 1000, sum: 200, sumSquares: 200 }, c: { n: 1000, sum: 110, sumSquares: 110 } };
    const eg = resolveTargetPolicy(targetPolicySchema.parse({ kind: 'bandit', policy: { kind: 'epsilon_greedy', epsilon: 0.3 } }), { ...ctx, armStats })(round({}));
    expect(eg[0]).toBeCloseTo(0.1, 12);
    expect(eg[1]).toBeCloseTo(0.8, 12);
    const ts = resolveTargetPolicy(targetPolicySchema.parse({ kind: 'bandit', policy: { kind: 'thompson' }, seed: 3 }), { ...ctx, armStats })(round({}));
    expect(ts[1]).toBeGreaterThan(0.99);
    // Seeded: the same weights every time.
    expect(resolveTargetPolicy(targetPolicySchema.parse({ kind: 'bandit', policy: { kind: 'thompson' }, seed: 3 }), { ...ctx, armStats })(round({}))).toEqual(ts);
  });

  it('an unknown arm is named by its path', () => {
    const p = targetPolicySchema.parse({ kind: 'contextual', rules: [{ when: { attr: 'x', op: 'eq', value: 1 }, arm: 'zzz' }], otherwise: { arm: 'control' } });
    expect(() => resolveTargetPolicy(p, ctx)).toThrow(TargetPolicyError);
    expect(() => resolveTargetPolicy(p, ctx)).toThrow(/^policy\.rules\.0\.arm: unknown arm 'zzz'/);
    expect(targetPolicySchema.safeParse({ kind: 'fixed', weights: { control: 0 } }).success).toBe(false);
  });
});

describe('policy evaluation on logged rows', () => {
  // A contextual truth: b is better for ios, control for android; the logs are 50/50.
  const rng = createRng(4);
  const rows: EvaluationRow[] = Array.from({ length: 6000 }, (_, i) => {
    const device = i % 2 ? 'ios' : 'android';
    const variant = rng() < 0.5 ? 'control' : 'b';
    const p = device === 'ios' ? (variant === 'b' ? 0.4 : 0.2) : variant === 'b' ? 0.1 : 0.3;
    return { variant, propensity: 0.5, context: { device, tenure: i % 5 }, loggingWeights: { control: 0.5, b: 0.5 }, value: rng() < p ? 1 : 0 };
  });
  const two = variants.slice(0, 2);
  const metric = { key: 'purchase', event: 'purchase', type: 'binary' as const, role: 'primary' as const, direction: 'increase' as const };

  it('the contextual rule that serves each device its better arm is estimated near its true value 0.35', () => {
    const policy = targetPolicySchema.parse({ kind: 'contextual', rules: [{ when: { attr: 'device', op: 'eq', value: 'ios' }, arm: 'b' }], otherwise: { arm: 'control' } });
    const r = evaluatePolicy({ rows, variants: two, metric, policy });
    expect(r.features).toEqual(['device', 'tenure']);
    for (const e of r.estimates) expect(Math.abs(e.value - 0.35)).toBeLessThan(3 * e.standardError);
    const dr = r.estimates.find((e) => e.estimator === 'dr')!;
    const ips = r.estimates.find((e) => e.estimator === 'ips')!;
    expect(dr.standardError).toBeLessThan(ips.standardError);
    expect(r.warnings).toEqual([]);
  });

  it('a target playing an arm the logs never served is warned about', () => {
    const r = evaluatePolicy({ rows, variants, metric, policy: { kind: 'always', arm: 'c' } });
    expect(r.warningText.join(' ')).toMatch(/plays c .* never took it/);
  });

  it('the logging distribution comes from the snapshot weights when they agree with the propensity', () => {
    expect(loggingDistribution({ variant: 'b', propensity: 0.2, loggingWeights: { control: 0.8, b: 0.2 } }, ['control', 'b'])).toEqual({ probs: [0.8, 0.2], approximate: false });
    // A contextual leaf served 0.3 to b: the segment weights disagree, two arms → exact complement.
    expect(loggingDistribution({ variant: 'b', propensity: 0.3, loggingWeights: { control: 0.5, b: 0.5 } }, ['control', 'b'])).toEqual({ probs: [0.7, 0.3], approximate: false });
    expect(loggingDistribution({ variant: 'b', propensity: 0.5, loggingWeights: null }, ['control', 'b', 'c']).approximate).toBe(true);
    expect(inferFeatures([{ variant: 'b', propensity: 1, loggingWeights: null, value: 0, context: { id: 'x', n: 1 } }])).toEqual(['id', 'n']);
  });
});

describe('running windows', () => {
  it('window ends step from start+window to the range end; a short range is one window', () => {
    const from = new Date('2026-01-01T00:00:00Z');
    const to = new Date('2026-01-15T00:00:00Z');
    expect(windowEnds(from, to, 7 * 86400, 86400).map((d) => d.toISOString().slice(0, 10))).toEqual(['2026-01-08', '2026-01-09', '2026-01-10', '2026-01-11', '2026-01-12', '2026-01-13', '2026-01-14', '2026-01-15']);
    expect(windowEnds(from, new Date('2026-01-03T00:00:00Z'), 7 * 86400, 86400)).toEqual([new Date('2026-01-03T00:00:00Z')]);
    expect(parseDuration('7d')).toBe(604800);
    expect(parseDuration('90s')).toBe(90);
    expect(evaluationRequestSchema.safeParse({ kind: 'window', experiment: 'x', step: '0d' }).success).toBe(false);
  });

  it('each window and segment gets the decision rule’s always-valid comparison', () => {
    const cell = (variant: string, segment: number, n: number, sum: number): CellStats => ({ metric: 'purchase', variant, segment, period: 1, moments: { n, sum, sumSquares: sum } });
    const rows = evaluateRunningWindows({
      windows: [
        { end: new Date('2026-01-08T00:00:00Z'), cells: [cell('control', 0, 2000, 200), cell('b', 0, 2000, 300), cell('control', 1, 1000, 100), cell('b', 1, 1000, 100)] },
        { end: new Date('2026-01-09T00:00:00Z'), cells: [cell('control', 0, 2000, 200), cell('b', 0, 2000, 200)] },
      ],
      windowSeconds: 7 * 86400,
      metrics: [{ key: 'purchase', event: 'purchase', type: 'binary', role: 'primary', direction: 'increase' }],
      control: 'control',
      variants: ['control', 'b'],
      alpha: 0.05,
      bySegment: true,
    });
    expect(rows.map((r) => [r.windowEnd.slice(0, 10), r.segment])).toEqual([['2026-01-08', null], ['2026-01-08', 0], ['2026-01-08', 1], ['2026-01-09', null], ['2026-01-09', 0]]);
    expect(rows[0]!.windowStart).toBe('2026-01-01T00:00:00.000Z');
    expect(rows[1]!.estimate).toBeCloseTo(0.05, 12);
    expect(rows[1]!.ci![0]).toBeGreaterThan(0);
    expect(rows[2]!.estimate).toBeCloseTo(0, 12);
    // Always-valid: wider than the fixed-horizon 95% interval of the same difference.
    const se = Math.sqrt((0.1 * 0.9) / 2000 + (0.15 * 0.85) / 2000);
    expect(rows[1]!.ci![1] - rows[1]!.ci![0]).toBeGreaterThan(2 * 1.96 * se);
  });
});

describe('replay of decisions', () => {
  const config = experimentConfigSchema.parse({ metrics: [{ key: 'purchase', event: 'purchase', type: 'binary', role: 'primary' }], minSamplePerArm: 100 });
  const def = { variants: [{ key: 'control', isControl: true, weight: 0.5 }, { key: 'b', isControl: false, weight: 0.5 }], config };
  const snapshot = { version: 1, segments: [{ id: 0, status: 'active', coverage: 1, weights: { control: 0.5, b: 0.5 }, centroid: null }] } as unknown as AllocationSnapshot;
  const cells = (n: number, c: number, b: number): CellStats[] => [
    { metric: 'purchase', variant: 'control', segment: 0, period: 1, moments: { n, sum: c, sumSquares: c } },
    { metric: 'purchase', variant: 'b', segment: 0, period: 1, moments: { n, sum: b, sumSquares: b } },
  ];
  const cycle = (k: number, stored: CellStats[], online: string, winner: string | null = null, logged = stored): ReplayCycle => ({
    cycle: k,
    loggedCells: logged,
    storedCells: stored,
    segments: { enabled: false, ids: [0] },
    terminated: new Set(),
    actions: [],
    decidedAt: 1_000 + k,
    online: { outcome: online, winner },
  });

  it('reproduces a continue → ship run and reports nothing', () => {
    const r = replayDecisions({ def, startedAt: 0, snapshots: new Map([[1, snapshot]]), cycles: [cycle(1, cells(50, 5, 6), 'continue'), cycle(2, cells(4000, 400, 640), 'ship', 'b')] });
    expect(r.firstDifference).toBeNull();
    expect(r.final!.replayed).toMatchObject({ outcome: 'ship', winner: 'b' });
  });

  it('names the first differing cycle and whether the data or the rules differ', () => {
    const rules = replayDecisions({ def, startedAt: 0, snapshots: new Map([[1, snapshot]]), cycles: [cycle(1, cells(50, 5, 6), 'continue'), cycle(2, cells(4000, 400, 640), 'continue'), cycle(3, cells(5000, 500, 800), 'continue')] });
    expect(rules.firstDifference).toMatchObject({ cycle: 2, cause: 'rules', online: { outcome: 'continue' }, replayed: { outcome: 'ship' } });
    // The stored cells still give the online decision; the logs now say otherwise (late rows).
    const data = replayDecisions({ def, startedAt: 0, snapshots: new Map([[1, snapshot]]), cycles: [cycle(1, cells(50, 5, 6), 'continue'), cycle(2, cells(4000, 400, 410), 'continue', null, cells(4000, 400, 640))] });
    expect(data.firstDifference).toMatchObject({ cycle: 2, cause: 'data' });
    expect(data.cycles[1]!.dataMatches).toBe(false);
  });

  it('compares cells regardless of order', () => {
    const a = cells(10, 1, 2);
    expect(sameCells(a, [...a].reverse())).toBe(true);
    expect(sameCells(a, cells(10, 1, 3))).toBe(false);
    expect(sameCells(a, a.slice(1))).toBe(false);
  });
});
