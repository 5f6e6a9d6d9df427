/**
 * The decide step as the workflow runs it, under continuous monitoring AND adaptive allocation.
 *
 * A/A/A experiments (three arms, all the same conversion rate) run for 100 cycles; each cycle the
 * Thompson policy reweights the arms (floor, max change, minimum data, exactly as the reallocate
 * activity calls it) and `decideExperiment` looks at the data. Any ship or stop_harm at any look is
 * a false positive. Two baselines, on the same simulated traffic:
 *  - the same always-valid rule fed pooled cells (periods collapsed), which ignores that the
 *    allocation changed over time;
 *  - a naive two-proportion z-test of each arm vs control at every look, Holm-corrected.
 * Scenario "drift" lets the base rate rise from 8% to 14% over the run: allocation correlated with
 * time then biases pooled estimates (Simpson's paradox), while per-period stratification does not.
 *
 * Segment level: the same traffic is split at random into two segments (a side random stream, so the
 * experiment-level columns are unchanged), both served the experiment's weights, and the
 * segment-level always-valid rule (segment × arm mSPRT, running-minimum p, Holm across segments ×
 * arms) looks every cycle. Any segment conclusion is a false positive. "stratified" is the decide
 * step's rule (`segmentLevelDecisions`: per-segment period-stratified effect, τ fixed per key at its
 * first look, family carried); "pooled (old)" is the rule it replaced (per-segment moments pooled over
 * periods, τ = 0.1·|control mean| re-derived at every look).
 *   npm run bench:decisions [-- --sims 1000]
 * Prints a table and a final JSON line.
 */
import { at, atKey } from '../domain/at.js';
import { parseArgs } from 'node:util';
import { computeAllocation } from '../domain/allocation/index.js';
import { decideExperiment } from '../domain/decision/index.js';
import { binomial } from '../domain/prediction/simulate-history.js';
import { createRng, type Rng } from '../domain/rng.js';
import { decideSegmentArms, segmentLevelDecisions, type SegmentLevelState } from '../domain/decision/segment-conclusions.js';
import { mixtureSequentialInterval } from '../domain/segment-rules/index.js';
import { compareProportions, holmAdjust } from '../domain/stats/index.js';
import type { CellStats, MetricSpec, Weights } from '../domain/types.js';

const { values } = parseArgs({ options: { sims: { type: 'string' }, seed: { type: 'string' } } });
const SIMS = Number(values.sims ?? 1000);
const SEED = Number(values.seed ?? 11);
const CYCLES = 100;
const UNITS_PER_CYCLE = 600;
const ALPHA = 0.05;
const VARIANTS = ['control', 'b', 'c'];
const METRICS: MetricSpec[] = [{ key: 'conv', event: 'purchase', type: 'binary', role: 'primary', direction: 'increase' }];
const BOUNDS = { floor: 0.1, max: 0.8, maxChange: 0.25, minUnitsPerArm: 100 };

const SEGMENTS = [0, 1];

interface Outcome {
  stratified: boolean;
  pooled: boolean;
  naive: boolean;
  segmentStratified: boolean;
  segmentPooled: boolean;
}

/** Successes among `draws` units taken at random without replacement from n units with k successes. */
function hypergeometric(rng: Rng, n: number, k: number, draws: number): number {
  let hits = 0;
  for (let left = n, good = k, j = 0; j < draws && good > 0; j++, left--) {
    if (rng() * left < good) {
      hits++;
      good--;
    }
  }
  return hits;
}

/** The segment-level rule before stratification: pooled moments, τ from the current control mean, Holm over current keys. */
function pooledSegmentRule(cells: readonly CellStats[], pMin: Record<string, number>): boolean {
  const evidence = [];
  for (const segment of SEGMENTS) {
    const m = Object.fromEntries(VARIANTS.map((v) => [v, { n: 0, sum: 0, sumSquares: 0 }]));
    for (const c of cells) {
      if (c.segment !== segment) continue;
      const x = atKey(m, c.variant, 'moments by variant');
      x.n += c.moments.n;
      x.sum += c.moments.sum;
      x.sumSquares += c.moments.sumSquares;
    }
    const control = atKey(m, 'control', 'moments by variant');
    const scale = control.n > 0 ? Math.abs(control.sum / control.n) : 0;
    for (const arm of VARIANTS.slice(1)) {
      const iv = mixtureSequentialInterval(control, atKey(m, arm, 'moments by variant'), ALPHA, Math.max(0.1 * scale, 1e-9));
      const key = `${segment}:${arm}`;
      pMin[key] = Math.min(pMin[key] ?? 1, Number.isFinite(iv.pValue) ? iv.pValue : 1);
      evidence.push({ segmentId: segment, arm, estimate: Number.isFinite(iv.estimate) ? iv.estimate : 0, pValue: atKey(pMin, key, 'pMin') });
    }
  }
  return decideSegmentArms(evidence, { alpha: ALPHA, method: 'holm', direction: 'increase' }).some((d) => d.outcome !== 'none');
}

function multinomial(rng: Rng, n: number, weights: number[]): number[] {
  const out: number[] = [];
  let left = n;
  let mass = 1;
  for (let i = 0; i < weights.length - 1; i++) {
    const k = mass > 0 ? binomial(rng, left, Math.min(1, at(weights, i, 'weights') / mass)) : 0;
    out.push(k);
    left -= k;
    mass -= at(weights, i, 'weights');
  }
  out.push(left);
  return out;
}

function simulate(rng: Rng, side: Rng, rate: (cycle: number) => number): Outcome {
  const cells: CellStats[] = [];
  const segmentCells: CellStats[] = [];
  let segmentState: SegmentLevelState | undefined;
  const pooledPMin: Record<string, number> = {};
  const totals = VARIANTS.map(() => ({ n: 0, k: 0 }));
  let weights: Weights = { control: 1 / 3, b: 1 / 3, c: 1 / 3 };
  const result: Outcome = { stratified: false, pooled: false, naive: false, segmentStratified: false, segmentPooled: false };
  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    const p = rate(cycle);
    const counts = multinomial(rng, UNITS_PER_CYCLE, VARIANTS.map((v) => atKey(weights, v, 'weights')));
    VARIANTS.forEach((v, i) => {
      const n = at(counts, i, 'counts');
      const k = binomial(rng, n, p);
      at(totals, i, 'totals').n += n;
      at(totals, i, 'totals').k += k;
      cells.push({ metric: 'conv', variant: v, segment: 0, period: cycle, moments: { n, sum: k, sumSquares: k } });
      // Each unit falls in segment 0 or 1 with probability ½ (side stream: the columns above are unchanged).
      const n0 = binomial(side, n, 0.5);
      const k0 = hypergeometric(side, n, k, n0);
      segmentCells.push(
        { metric: 'conv', variant: v, segment: 0, period: cycle, moments: { n: n0, sum: k0, sumSquares: k0 } },
        { metric: 'conv', variant: v, segment: 1, period: cycle, moments: { n: n - n0, sum: k - k0, sumSquares: k - k0 } },
      );
    });
    const look = { metrics: METRICS, control: 'control', variants: VARIANTS, alpha: ALPHA, minSamplePerArm: 100, look: cycle };
    // A false positive is any ship, roll back, or arm stopped (the breaker acts on the same evidence).
    const fired = (d: { outcome: string; stopArms: unknown[] }) => d.outcome === 'ship' || d.outcome === 'stop_harm' || d.stopArms.length > 0;
    if (!result.stratified && fired(decideExperiment({ ...look, cells }))) result.stratified = true;
    if (!result.pooled) {
      const pooled: CellStats[] = VARIANTS.map((v, i) => ({ metric: 'conv', variant: v, segment: 0, period: 0, moments: { n: at(totals, i, 'totals').n, sum: at(totals, i, 'totals').k, sumSquares: at(totals, i, 'totals').k } }));
      if (fired(decideExperiment({ ...look, cells: pooled }))) result.pooled = true;
    }
    if (!result.naive && totals.every((t) => t.n >= 100)) {
      const ps = [1, 2].map((i) => compareProportions({ n: at(totals, 0, 'totals').n, successes: at(totals, 0, 'totals').k }, { n: at(totals, i, 'totals').n, successes: at(totals, i, 'totals').k }, ALPHA).pValue);
      if (holmAdjust(ps).some((q) => q < ALPHA)) result.naive = true;
    }
    if (!result.segmentStratified) {
      const r = segmentLevelDecisions({ cells: segmentCells, metric: at(METRICS, 0, 'METRICS'), segments: SEGMENTS, variants: VARIANTS, control: 'control', alpha: ALPHA, previous: segmentState });
      segmentState = r.state;
      if (r.decisions.some((d) => d.outcome !== 'none')) result.segmentStratified = true;
    }
    if (!result.segmentPooled && pooledSegmentRule(segmentCells, pooledPMin)) result.segmentPooled = true;
    // Reallocate as the activity does, from pooled per-variant moments.
    const stats = Object.fromEntries(VARIANTS.map((v, i) => [v, { n: at(totals, i, 'totals').n, sum: at(totals, i, 'totals').k, sumSquares: at(totals, i, 'totals').k }]));
    weights = computeAllocation({
      policy: { kind: 'thompson', model: 'bernoulli' },
      variants: VARIANTS.map((key) => ({ key, isControl: key === 'control' })),
      stats,
      previous: weights,
      bounds: BOUNDS,
      rng,
      now: cycle * 60_000,
    }).weights;
  }
  return result;
}

const scenarios: Array<{ name: string; rate: (cycle: number) => number }> = [
  { name: 'stationary 10%', rate: () => 0.1 },
  { name: 'drift 8% → 14%', rate: (c) => 0.08 + (0.06 * (c - 1)) / (CYCLES - 1) },
];

const started = performance.now();
const rows = scenarios.map((s, si) => {
  const rng = createRng(SEED * 1000 + si);
  const side = createRng(SEED * 1000 + 500 + si);
  const counts = { stratified: 0, pooled: 0, naive: 0, segmentStratified: 0, segmentPooled: 0 };
  for (let i = 0; i < SIMS; i++) {
    const o = simulate(rng, side, s.rate);
    for (const k of Object.keys(counts) as Array<keyof typeof counts>) if (o[k]) counts[k]++;
  }
  const rate = (k: keyof typeof counts) => counts[k] / SIMS;
  return { scenario: s.name, stratified: rate('stratified'), pooled: rate('pooled'), naive: rate('naive'), segmentStratified: rate('segmentStratified'), segmentPooled: rate('segmentPooled') };
});
const se = Math.sqrt((ALPHA * (1 - ALPHA)) / SIMS);
const bound = ALPHA + 3 * se;

console.log(`A/A/A with Thompson reallocation: ${SIMS} runs × ${CYCLES} looks × ${UNITS_PER_CYCLE} units, α=${ALPHA}, Holm across 2 comparisons`);
console.log(`false-positive rate (any ship, stop_harm or arm stop at any look); bound α + 3·SE = ${(100 * bound).toFixed(2)}%`);
console.log(`segment level: 2 segments × 2 arms, running-minimum always-valid p, Holm across the 4; any segment conclusion is a false positive`);
console.log(
  ['scenario'.padEnd(18), 'expflow (stratified)'.padStart(22), 'always-valid pooled'.padStart(21), 'naive z every look'.padStart(20), 'segments stratified'.padStart(21), 'segments pooled (old)'.padStart(22)].join(' '),
);
for (const r of rows) {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const ok = (x: number) => `${pct(x)} ${x <= bound ? 'OK' : 'FAIL'}`;
  console.log([r.scenario.padEnd(18), ok(r.stratified).padStart(22), pct(r.pooled).padStart(21), pct(r.naive).padStart(20), ok(r.segmentStratified).padStart(21), pct(r.segmentPooled).padStart(22)].join(' '));
}
const seconds = (performance.now() - started) / 1000;
console.log(`elapsed ${seconds.toFixed(1)} s`);
console.log(JSON.stringify({ bench: 'decisions', sims: SIMS, cycles: CYCLES, alpha: ALPHA, bound, results: rows, pass: rows.every((r) => r.stratified <= bound && r.segmentStratified <= bound), seconds }));
