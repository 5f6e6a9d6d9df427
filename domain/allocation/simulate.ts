/**
 * Pure bandit simulator: runs a policy over synthetic arms, one batch = one allocation cycle, and
 * reports regret, traffic to the best arm, harm relative to control and the final decision. The CLI
 * and the benches call it; nothing here does I/O.
 *
 * Common random numbers: the environment (segment of each unit, outcome uniforms) is drawn from an
 * rng seeded by scenario seed and run index only, so every policy faces the same units in a run and
 * differences between policies are not noise from the environment.
 */
import { createRng, normal } from '../rng.js';
import type { Moments, VariantRef } from '../types.js';
import { type AllocationPolicy, computeAllocation } from './compute-allocation.js';
import { type ContextRow, type ContextualModel, fitContextualPolicy, treatmentShareFor } from './contextual.js';
import type { Scenario, SimPolicy } from './scenario.js';
import { sampleThompsonArm } from './thompson.js';
import { assertNever } from '../assert-never.js';
import { at } from '../at.js';

/** Result of one run of one policy. */
export interface RunResult {
  /** Σ over units of (best mean in the unit's segment − mean of the arm served). */
  regret: number;
  /** Fraction of units served the best arm for their segment. */
  bestArmShare: number;
  /** Σ over units of max(0, control mean − served arm mean): expected harm vs control. */
  harm: number;
  /** Units served each arm. */
  exposures: Record<string, number>;
  /** Arm with the highest post-stratified mean at the end (Σ_s share_s · mean_{s,arm}). */
  decision: string;
  /** Whether `decision` is the arm with the highest true population mean at the end. */
  correct: boolean;
}

/** Summary of one policy over all runs. */
export interface PolicySummary {
  label: string;
  kind: SimPolicy['kind'];
  runs: number;
  regretMean: number;
  regretSd: number;
  bestArmShare: number;
  harmMean: number;
  correctRate: number;
  /** Most frequent final decision and how many runs made it. */
  decision: string;
  decisionCount: number;
}

export interface ScenarioResult {
  scenario: string;
  horizon: number;
  batchSize: number;
  bestArm: string;
  policies: PolicySummary[];
}

/** Label of a policy for tables and JSON. */
function policyLabel(p: SimPolicy): string {
  if (p.label) return p.label;
  switch (p.kind) {
    case 'thompson':
      return p.topTwo !== undefined ? `thompson-top2(${p.topTwo})` : 'thompson';
    case 'epsilon_greedy':
      return `epsilon_greedy(${p.epsilon})`;
    default:
      return p.kind;
  }
}

/** Run every policy of the scenario `runs` times and summarise. */
export function simulateScenario(s: Scenario, opts: { runs?: number; onRun?: (label: string, run: number) => void } = {}): ScenarioResult {
  const runs = opts.runs ?? s.runs;
  const env = environment(s);
  const policies = s.policies.map((p) => {
    const label = policyLabel(p);
    const results: RunResult[] = [];
    for (let r = 0; r < runs; r++) {
      results.push(simulateRun(s, p, r));
      opts.onRun?.(label, r);
    }
    return summarise(label, p.kind, results);
  });
  return { scenario: s.name, horizon: s.horizon, batchSize: s.batchSize, bestArm: at(s.arms, env.popBest(s.horizon), 'arms').key, policies };
}

/** One run of one policy; `run` selects the environment and policy random streams. */
export function simulateRun(s: Scenario, policy: SimPolicy, run: number): RunResult {
  const env = environment(s);
  const K = s.arms.length;
  const S = env.shares.length;
  const H = s.horizon;
  const B = s.batchSize;
  const envRng = createRng(`${s.seed}:env:${run}`);
  const rng = createRng(`${s.seed}:policy:${policyLabel(policy)}:${run}`);
  const keys = s.arms.map((a) => a.key);
  const variants: VariantRef[] = s.arms.map((a, i) => ({ key: a.key, isControl: i === env.control }));
  const model = s.outcome;

  // Moments per segment × arm and pooled per arm.
  const n = new Float64Array(S * K);
  const sum = new Float64Array(S * K);
  const ss = new Float64Array(S * K);
  const pooled = (): Moments[] => {
    const out: Moments[] = [];
    for (let k = 0; k < K; k++) {
      let a = 0;
      let b = 0;
      let c = 0;
      for (let g = 0; g < S; g++) {
        a += at(n, g * K + k, 'n');
        b += at(sum, g * K + k, 'sum');
        c += at(ss, g * K + k, 'ss');
      }
      out.push({ n: a, sum: b, sumSquares: c });
    }
    return out;
  };

  let weights: number[] = initialWeights(policy, keys);
  const perUnitThompson = policy.kind === 'thompson' && B === 1;
  const contextual = policy.kind === 'contextual' ? policy : null;
  const controlKey = at(keys, env.control, 'arm keys');
  const treatmentKey = contextual ? (contextual.treatment ?? keys.find((_, i) => i !== env.control) ?? controlKey) : controlKey;
  const treatment = contextual ? keys.indexOf(treatmentKey) : -1;
  // The scenario schema checks this; a scenario built in code may not have been through it.
  if (contextual && treatment < 0) throw new RangeError(`contextual treatment '${treatmentKey}' is not an arm of the scenario`);
  let ctxModel: ContextualModel | null = null;
  const rows: ContextRow[] = [];
  const maxRows = contextual?.maxRows ?? 5000;
  let seen = 0;
  let lastRow: ContextRow | null = null;

  let means = env.meansAt(0);
  const driftStep = s.drift ? Math.min(B, 100) : Infinity;
  let regret = 0;
  let harm = 0;
  let best = 0;
  const exposures = new Array<number>(K).fill(0);

  for (let t = 0; t < H; t++) {
    if (t > 0 && t % B === 0) {
      if (contextual) {
        ctxModel = fitContextualPolicy(rows, {
          control: controlKey,
          treatment: treatmentKey,
          features: ['segment'],
          baseline: contextual.baseline,
          adjustment: contextual.adjustment,
          riskTolerance: contextual.riskTolerance,
          floor: contextual.floor,
          z: contextual.z,
          maxRows,
          maxDepth: contextual.maxDepth,
          minNodeRows: contextual.minNodeRows,
          minLeafRows: contextual.minLeafRows,
          minArmRows: contextual.minArmRows,
        }).model;
      } else if (!perUnitThompson) {
        const p = pooled();
        const r = computeAllocation({
          policy: toAllocationPolicy(policy, model),
          variants,
          stats: byKey(keys, p, 'pooled moments'),
          previous: byKey(keys, weights, 'weights'),
          bounds: s.bounds,
          rng,
          now: t,
        });
        // An arm the allocation leaves out gets no traffic.
        weights = keys.map((k) => r.weights[k] ?? 0);
      }
    }
    if (t % driftStep === 0 && t > 0) means = env.meansAt(t);

    const g = S === 1 ? 0 : pickIndex(env.cumShares, envRng());
    const u = envRng();
    let arm: number;
    if (perUnitThompson) {
      arm = sampleThompsonArm(pooled(), model, rng);
    } else if (contextual) {
      const share = ctxModel ? treatmentShareFor(ctxModel, [g]) : contextual.baseline;
      arm = rng() < share ? treatment : env.control;
      // Ring buffer of the most recent maxRows units (order does not matter once all are used).
      // y is filled in below once drawn; propensity is the probability of the arm actually served.
      lastRow = { features: [g], variant: arm === treatment ? treatmentKey : controlKey, y: 0, propensity: arm === treatment ? share : 1 - share };
      rows[seen++ % maxRows] = lastRow;
    } else {
      arm = pickIndex(cumulative(weights), rng());
    }

    const mu = at(means, g * K + arm, 'means');
    const y = model === 'bernoulli' ? (u < mu ? 1 : 0) : mu + at(s.arms, arm, 'arms').sd * normal(envRng);
    if (lastRow) lastRow.y = y;
    const cell = g * K + arm;
    n[cell] = at(n, cell, 'n') + 1;
    sum[cell] = at(sum, cell, 'sum') + y;
    ss[cell] = at(ss, cell, 'ss') + y * y;
    exposures[arm] = at(exposures, arm, 'exposures') + 1;
    const bestArm = env.bestIn(means, g);
    regret += at(means, g * K + bestArm, 'means') - mu;
    if (arm === bestArm) best++;
    harm += Math.max(0, at(means, g * K + env.control, 'means') - mu);
  }

  // Post-stratified estimate: unbiased under allocation that depends on segment, not on outcomes' future.
  const est = keys.map((_, k) => {
    let v = 0;
    for (const [g, share] of env.shares.entries()) {
      const c = g * K + k;
      const nc = at(n, c, 'n');
      if (nc === 0) return -Infinity;
      v += share * (at(sum, c, 'sum') / nc);
    }
    return v;
  });
  const decisionIdx = est.indexOf(Math.max(...est));
  return {
    regret,
    bestArmShare: best / H,
    harm,
    exposures: byKey(keys, exposures, 'exposures'),
    decision: at(keys, decisionIdx, 'arm keys'),
    correct: decisionIdx === env.popBest(H),
  };
}

/** Map a simulator policy to the allocation entry point's policy. */
function toAllocationPolicy(p: SimPolicy, model: Scenario['outcome']): AllocationPolicy {
  switch (p.kind) {
    case 'fixed':
      return { kind: 'fixed', weights: p.weights };
    case 'thompson':
      return { kind: 'thompson', model, topTwo: p.topTwo };
    case 'ucb1':
      return { kind: 'ucb1', c: p.c, scale: p.scale };
    case 'epsilon_greedy':
      return { kind: 'epsilon_greedy', epsilon: p.epsilon };
    case 'contextual':
      throw new Error('contextual policies are simulated by fitContextualPolicy, not computeAllocation');
    default:
      return assertNever(p, 'simulator policy');
  }
}

function initialWeights(p: SimPolicy, keys: string[]): number[] {
  if (p.kind === 'fixed' && p.weights) {
    const total = keys.reduce((a, k) => a + (p.weights![k] ?? 0), 0);
    return keys.map((k) => (p.weights![k] ?? 0) / total);
  }
  return keys.map(() => 1 / keys.length);
}

/** True means per segment × arm over time, and the oracles derived from them. */
function environment(s: Scenario) {
  const K = s.arms.length;
  const segs = s.segments ?? [{ name: 'all', share: 1, effects: {} as Record<string, number> }];
  const total = segs.reduce((a, g) => a + g.share, 0);
  const shares = segs.map((g) => g.share / total);
  const cumShares = cumulative(shares);
  const ctl = s.arms.findIndex((a) => a.control);
  const clampMean = (m: number) => (s.outcome === 'bernoulli' ? Math.min(Math.max(m, 0), 1) : m);
  const meansAt = (t: number): Float64Array => {
    const out = new Float64Array(segs.length * K);
    segs.forEach((g, gi) =>
      s.arms.forEach((a, k) => {
        out[gi * K + k] = clampMean(a.mean + (g.effects[a.key] ?? 0) + ((s.drift?.[a.key] ?? 0) * t) / s.horizon);
      }),
    );
    return out;
  };
  const bestIn = (means: Float64Array, g: number): number => {
    let b = 0;
    for (let k = 1; k < K; k++) if (at(means, g * K + k, 'means') > at(means, g * K + b, 'means')) b = k;
    return b;
  };
  const popBest = (t: number): number => {
    const m = meansAt(t);
    const pop = s.arms.map((_, k) => shares.reduce((a, sh, g) => a + sh * at(m, g * K + k, 'means'), 0));
    return pop.indexOf(Math.max(...pop));
  };
  return { shares, cumShares, control: ctl >= 0 ? ctl : 0, meansAt, bestIn, popBest };
}

function summarise(label: string, kind: SimPolicy['kind'], rs: RunResult[]): PolicySummary {
  const m = rs.reduce((a, r) => a + r.regret, 0) / rs.length;
  const sd = Math.sqrt(rs.reduce((a, r) => a + (r.regret - m) ** 2, 0) / Math.max(rs.length - 1, 1));
  const counts = new Map<string, number>();
  for (const r of rs) counts.set(r.decision, (counts.get(r.decision) ?? 0) + 1);
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
  if (!top) throw new RangeError('summarise needs at least one run');
  const [decision, decisionCount] = top;
  return {
    label,
    kind,
    runs: rs.length,
    regretMean: m,
    regretSd: sd,
    bestArmShare: rs.reduce((a, r) => a + r.bestArmShare, 0) / rs.length,
    harmMean: rs.reduce((a, r) => a + r.harm, 0) / rs.length,
    correctRate: rs.filter((r) => r.correct).length / rs.length,
    decision,
    decisionCount,
  };
}

function cumulative(w: readonly number[]): number[] {
  const out: number[] = [];
  let acc = 0;
  for (const x of w) out.push((acc += x));
  return out;
}

function pickIndex(cum: readonly number[], u: number): number {
  const last = cum.length - 1;
  const x = u * at(cum, last, 'cumulative weights');
  for (let i = 0; i < last; i++) if (x < at(cum, i, 'cumulative weights')) return i;
  return last;
}

/** Record of `values` by arm key; the two arrays are per arm, so a length mismatch is a bug. */
function byKey<T>(keys: readonly string[], values: ArrayLike<T>, what: string): Record<string, T> {
  if (values.length !== keys.length) throw new RangeError(`${what} has ${values.length} entries for ${keys.length} arms`);
  return Object.fromEntries(keys.map((k, i) => [k, at(values, i, what)]));
}
