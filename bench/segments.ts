/**
 * Segmentation + predictive branching benchmark (issue #5).
 *
 * Population: 4 behavioural clusters (shares 20/35/30/15%). Treatment helps cluster 0 (+15%
 * relative conversion), is null in clusters 1 and 2, and harms cluster 3 (−10% relative).
 * Each simulation: draw a pre-period sample of units (behaviour + context), build features,
 * segment with k-means (k by silhouette), place new traffic by context-space centroids, then run
 * three arms for up to H cycles on the same population and per-cycle accrual, with per-cycle
 * sufficient statistics (binomial draws per segment × arm):
 *   (a) pooled fixed-horizon A/B: n from the power formula for the true pooled effect (80%), one test;
 *   (b) expflow, segmentation off: pooled always-valid mSPRT each cycle, stop when it crosses;
 *   (c) expflow, predictive branching: per-segment always-valid p-values, Holm across segments at
 *       every look, coverage ∝ 1/predicted time, throttle/terminate rules. The tree starts from the
 *       cold-start model and is retrained every RETRAIN_EVERY sims on the history of earlier runs
 *       (main and null scenario alike, as a company's past experiments), labelled by the same
 *       domain code the live predict activity uses (historyTrainingRows); the budget rule uses the
 *       5% calibrated residual quantile and waits for 1000 units/arm and look 3; a likely-harmed
 *       segment keeps enough traffic for the harm rule to prove it within the horizon.
 * A third scenario (first STRONG_SIMS sims, −30% in the harmed cluster) checks that a provable harm
 * is ended by the harm rule rather than the budget rule.
 * A second scenario with every effect 0 checks the family-wise error of every arm.
 * Time-to-significance predictions are scored on "shadow" runs of each segment at full coverage
 * (so the target does not depend on the policy): tree vs analytic plug-in vs traffic alone.
 *
 *   npm run bench:segments [-- --sims 500 --seed 1]
 */
import { at } from '../domain/at.js';
import { createRng, normal, type Rng } from '../domain/rng.js';
import type { Moments } from '../domain/types.js';
import { buildUnitFeatures, segmentUnits, assignSegmentByContext, normaliseContext, type FeatureConfig, type UnitAggregateRow } from '../domain/segmentation/index.js';
import {
  COLD_START_MODEL,
  TTSIG_COLD_START_TEST,
  addBinary,
  binomial,
  featuresFromMoments,
  historyTrainingRows,
  predictSamplesAnalytic,
  predictTimeToSignificance,
  scorePredictions,
  trainSignificanceTree,
  ttsigFeatures,
  type ExperimentHistory,
  type SignificancePrediction,
  type TtsigModel,
  type TtsigTrainingRow,
} from '../domain/prediction/index.js';
import { decideSegmentArms } from '../domain/decision/segment-conclusions.js';
import { evaluateSegments, mixtureSequentialInterval, type SegmentRulesConfig } from '../domain/segment-rules/index.js';
import { twoSidedCritical } from '../domain/stats/index.js';
import type { SegmentStatus } from '../domain/types.js';

const argv = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) {
  const name = at(process.argv, i, 'argv').replace(/^--/, '');
  const value = process.argv[i + 1];
  if (value === undefined) throw new Error(`--${name}: needs a value`);
  argv.set(name, value);
}
const SIMS = Number(argv.get('sims') ?? 500);
const SEED = Number(argv.get('seed') ?? 1);
/** (c) retrains its tree on the history of earlier runs every this many sims (0 = never, cold start only). */
const RETRAIN_EVERY = Number(argv.get('retrain') ?? 10);
/** Labelled rows needed before (c) trusts a retrained tree over the cold-start one. */
const RETRAIN_MIN_ROWS = Number(argv.get('retrainMinRows') ?? 200);
const RETRAIN_MAX_ROWS = 2000;
/** Include right-censored rows (segments that never crossed in a finished run). */
const CENSORED = (argv.get('censored') ?? '1') === '1';
const CENSORED_FACTOR = Number(argv.get('cf') ?? 1);
const BUDGET_QUANTILE = Number(argv.get('bq') ?? 0.05);
const BUDGET_MIN_PER_ARM = Number(argv.get('bmin') ?? 1000);
const BUDGET_MIN_LOOKS = Number(argv.get('blooks') ?? 3);
const DEBUG = process.env.BENCH_DEBUG ? { inHarmedSeg: 0, inHelpedSeg: 0, inNullSeg: 0, harmEndCycle: 0, harmEnds: 0 } : null;
// Off by default, matching the live throttle activity: precautionary throttling of likely harm.
const KEEP_PROVABLE = (argv.get('keepProvable') ?? '0') === '1';

const ALPHA = 0.05;
const HORIZON = 100; // cycles
const ACCRUAL = 4000; // eligible units per cycle, all segments
const POPULATION = 1_000_000;
const TAU_REL = TTSIG_COLD_START_TEST.tauRelative;
const SHARES = [0.2, 0.35, 0.3, 0.15];
const BASE = [0.1, 0.04, 0.02, 0.05];
const LIFT = [0.15, 0, 0, -0.1];
const HELPED = 0;
const HARMED = 3;
const NULLS = [1, 2];

// ---------- population (behaviour + context per cluster) ----------
function poisson(rng: Rng, lambda: number): number {
  if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal(rng)));
  const l = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= rng();
  } while (p > l);
  return k - 1;
}
const CLICKS = [30, 6, 2, 4];
const VIEWS = [10, 30, 3, 5];
const DWELL = [40, 150, 12, 600];
const SCROLL = [0.6, 0.9, 0.15, 0.95];
const FORMS = [3, 0.2, 0.05, 1.5];
// Context known at assignment: log tenure, mobile share, sessions/week — overlapping on purpose.
const CONTEXT_MEAN = [
  [6, 0.2, 8],
  [4, 0.4, 4],
  [2, 0.7, 1.5],
  [0.5, 0.95, 2.5],
];

/** Counts one unit of cluster `c` in segment `id` (a segment the tally does not know is a bug). */
function bump(tally: Map<number, number[]>, id: number, c: number): void {
  const row = tally.get(id);
  if (!row) throw new Error(`segment ${id} is not in the tally`);
  row[c] = at(row, c, 'cluster counts') + 1;
}

function drawCluster(rng: Rng): number {
  const u = rng();
  let acc = 0;
  for (let c = 0; c < SHARES.length; c++) if (u < (acc += at(SHARES, c, 'SHARES'))) return c;
  return SHARES.length - 1;
}
function drawContext(rng: Rng, c: number): Record<string, number> {
  const m = at(CONTEXT_MEAN, c, 'CONTEXT_MEAN');
  return { tenure: at(m, 0, 'm') + 0.6 * normal(rng), mobile: rng() < at(m, 1, 'm') ? 1 : 0, sessions: Math.max(0, at(m, 2, 'm') + 0.8 * normal(rng)) };
}
function drawUnit(rng: Rng, i: number): { row: UnitAggregateRow; cluster: number } {
  const c = drawCluster(rng);
  const views = poisson(rng, at(VIEWS, c, 'VIEWS'));
  const scrolls = poisson(rng, at(VIEWS, c, 'VIEWS'));
  const row: UnitAggregateRow = {
    unitId: `u${i}`,
    counts: { click: poisson(rng, at(CLICKS, c, 'CLICKS')), page_view: views, scroll: scrolls, form_submit: poisson(rng, at(FORMS, c, 'FORMS')), purchase: rng() < at(BASE, c, 'BASE') * 2 ? 1 : 0 },
    sums: { page_view: views * at(DWELL, c, 'DWELL') * Math.exp(0.3 * normal(rng)), scroll: scrolls * Math.min(1, Math.max(0, at(SCROLL, c, 'SCROLL') + 0.1 * normal(rng))) },
    context: drawContext(rng, c),
  };
  return { row, cluster: c };
}
const FEATURES: FeatureConfig = {
  behaviour: [
    { name: 'clicks', event: 'click', aggregate: 'count' },
    { name: 'views', event: 'page_view', aggregate: 'count' },
    { name: 'dwell', event: 'page_view', aggregate: 'meanPerEvent' },
    { name: 'scrollDepth', event: 'scroll', aggregate: 'meanPerEvent', transform: 'identity' },
    { name: 'forms', event: 'form_submit', aggregate: 'count' },
  ],
  context: ['tenure', 'mobile', 'sessions'],
  engagementWeights: { clicks: 1, views: 0.5, dwell: 0.5, scrollDepth: 0.5, forms: 1 },
  conversion: { event: 'purchase' },
};

interface SegmentWorld {
  id: number;
  /** Eligible units per cycle from this segment at full coverage. */
  accrual: number;
  /** Composition by true cluster (sums to 1). */
  mix: number[];
  majority: number;
}

function buildSegments(rng: Rng, seed: number): { segments: SegmentWorld[]; k: number; silhouette: number; placementAccuracy: number } {
  const units = Array.from({ length: 1500 }, (_, i) => drawUnit(rng, i));
  const f = buildUnitFeatures(units.map((u) => u.row), FEATURES);
  const seg = segmentUnits({ points: f.points, contextPoints: f.contextPoints, kRange: [2, 6], seed, silhouetteSample: 500, restarts: 2 });
  const located = seg.segments.map((s) => ({ id: s.id, centroid: s.contextCentroid }));
  // Composition of context-placed traffic: P(segment | cluster) from fresh units' contexts.
  const counts = new Map<number, number[]>(seg.segments.map((s) => [s.id, [0, 0, 0, 0]]));
  let behaviourAgree = 0;
  const majorityByBehaviour = new Map<number, number>();
  {
    const tally = new Map<number, number[]>(seg.segments.map((s) => [s.id, [0, 0, 0, 0]]));
    units.forEach((u, i) => bump(tally, at(seg.assignments, i, 'assignments'), u.cluster));
    for (const [id, t] of tally) majorityByBehaviour.set(id, t.indexOf(Math.max(...t)));
  }
  const fresh = 4000;
  for (let i = 0; i < fresh; i++) {
    const c = drawCluster(rng);
    const id = assignSegmentByContext(normaliseContext(drawContext(rng, c), f.contextScaling), located)!;
    bump(counts, id, c);
    if (majorityByBehaviour.get(id) === c) behaviourAgree++;
  }
  const segments = [...counts].map(([id, cnt]) => {
    const total = cnt.reduce((a, b) => a + b, 0);
    return { id, accrual: (ACCRUAL * total) / fresh, mix: cnt.map((x) => (total ? x / total : 0)), majority: majorityByBehaviour.get(id)! };
  });
  return { segments: segments.filter((s) => s.accrual > 0), k: seg.k, silhouette: seg.silhouette, placementAccuracy: behaviourAgree / fresh };
}

const rate = (mix: number[], lift: number[], arm: 0 | 1) => mix.reduce((acc, w, c) => acc + w * at(BASE, c, 'BASE') * (arm ? 1 + at(lift, c, 'lift') : 1), 0);
const empty = (): Moments => ({ n: 0, sum: 0, sumSquares: 0 });

// ---------- arms (a) + (b): pooled ----------
interface PooledOutcome {
  fixed: { detected: boolean; positive: boolean; samples: number; harmedExposure: number };
  seq: { crossed: boolean; positive: boolean; samples: number; harmedExposure: number };
}
function runPooled(rng: Rng, lift: number[], fixedCycles: number): PooledOutcome {
  let a = empty();
  let b = empty();
  let harmed = 0;
  const pooledMix = SHARES;
  const pA = rate(pooledMix, lift, 0);
  const pB = rate(pooledMix, lift, 1);
  const tau = TAU_REL * rate(pooledMix, lift, 0);
  let fixed: PooledOutcome['fixed'] | null = null;
  let seq: PooledOutcome['seq'] | null = null;
  for (let t = 1; t <= HORIZON && (!fixed || !seq); t++) {
    const nA = binomial(rng, ACCRUAL, 0.5);
    const nB = ACCRUAL - nA;
    a = addBinary(a, nA, binomial(rng, nA, pA));
    b = addBinary(b, nB, binomial(rng, nB, pB));
    harmed += binomial(rng, nB, at(SHARES, HARMED, 'SHARES'));
    if (!seq) {
      const iv = mixtureSequentialInterval(a, b, ALPHA, tau);
      if (iv.lower > 0 || iv.upper < 0) seq = { crossed: true, positive: iv.lower > 0, samples: a.n + b.n, harmedExposure: harmed };
    }
    if (!fixed && t === fixedCycles) {
      const ma = a.sum / a.n;
      const mb = b.sum / b.n;
      const se = Math.sqrt((ma * (1 - ma)) / a.n + (mb * (1 - mb)) / b.n);
      const z = (mb - ma) / se;
      fixed = { detected: Math.abs(z) > twoSidedCritical(ALPHA), positive: z > 0, samples: a.n + b.n, harmedExposure: harmed };
    }
  }
  return {
    fixed: fixed ?? { detected: false, positive: false, samples: a.n + b.n, harmedExposure: harmed },
    seq: seq ?? { crossed: false, positive: false, samples: a.n + b.n, harmedExposure: harmed },
  };
}

// ---------- arm (c): segments with predictive branching ----------
interface BranchingOutcome {
  helpedDetectedAt: number | null;
  harmedExposure: number;
  totalSamples: number;
  falseDiscoveries: number; // decisions on null-majority segments
  nullHarmTerminations: number; // harm-rule terminations on null-majority segments
  anyDiscovery: boolean;
  anyHarmTermination: boolean;
  terminations: Record<string, number>;
  /** Rule that ended the harmed-majority segment(s), 'none' when it ran to the horizon or concluded. */
  harmedEndedBy: string[];
  /** What the run stored, in the shape activities/predict.ts reads back from CycleStats. */
  history: ExperimentHistory;
}
function runBranching(rng: Rng, segments: SegmentWorld[], lift: number[], model: TtsigModel, runId: string): BranchingOutcome {
  const K = segments.length;
  const state = segments.map((s) => ({
    s,
    a: empty(),
    b: empty(),
    status: 'active' as SegmentStatus,
    coverage: 1,
    concluded: false,
    minP: 1,
    pA: rate(s.mix, lift, 0),
    pB: rate(s.mix, lift, 1),
    harmShare: at(s.mix, HARMED, 'mix'),
    tau: TAU_REL * rate(s.mix, lift, 0),
  }));
  const helpedSeg = segments.reduce((best, s) => (at(s.mix, HELPED, 'mix') * s.accrual > at(best.mix, HELPED, 'mix') * best.accrual ? s : best)).id;
  const config: SegmentRulesConfig = {
    control: 'A',
    direction: 'increase',
    minCoverage: 0.1,
    minSegmentSize: 1000,
    harmMargin: 0,
    mde: 0.05,
    // Bonferroni over segments keeps the (unadjusted) harm guardrail from adding false claims.
    harmAlpha: ALPHA / K,
    likelyHarmAlpha: 0.3,
    budgetQuantile: BUDGET_QUANTILE,
    budgetMinSamplesPerArm: BUDGET_MIN_PER_ARM,
    budgetMinLooks: BUDGET_MIN_LOOKS,
    likelyHarmKeepProvable: KEEP_PROVABLE,
  };
  const history: ExperimentHistory = { experimentId: runId, alpha: ALPHA, predict: [], decide: [], finished: true, horizonCycles: HORIZON };
  const harmedEndedBy: string[] = [];
  let total = 0;
  let harmed = 0;
  let helpedDetectedAt: number | null = null;
  let falseDiscoveries = 0;
  let nullHarmTerminations = 0;
  let anyDiscovery = false;
  let anyHarmTermination = false;
  const terminations: Record<string, number> = {};
  for (let t = 1; t <= HORIZON; t++) {
    const live = state.filter((x) => !x.concluded && x.status !== 'terminated');
    if (!live.length) break;
    for (const x of live) {
      const enrolled = binomial(rng, Math.round(x.s.accrual), x.coverage);
      const nA = binomial(rng, enrolled, 0.5);
      const nB = enrolled - nA;
      x.a = addBinary(x.a, nA, binomial(rng, nA, x.pA));
      x.b = addBinary(x.b, nB, binomial(rng, nB, x.pB));
      const hx = binomial(rng, nB, x.harmShare);
      harmed += hx;
      if (DEBUG) DEBUG[x.s.majority === HARMED ? 'inHarmedSeg' : x.s.majority === HELPED ? 'inHelpedSeg' : 'inNullSeg'] += hx;
      total += enrolled;
      x.minP = Math.min(x.minP, mixtureSequentialInterval(x.a, x.b, ALPHA, x.tau).pValue);
    }
    // Predict runs before decide in the cycle loop, on the same data (as in the workflow).
    const feats = new Map(state.map((x) => [x.s.id, featuresFromMoments(x.a, x.b, POPULATION * (x.s.accrual / ACCRUAL), x.s.accrual, t)]));
    history.predict.push({ cycle: t, segments: live.map((x) => ({ id: x.s.id, features: feats.get(x.s.id)! })) });
    // Segment-level decisions: Holm over all K segments (frozen p for stopped ones) at every look.
    const decisions = decideSegmentArms(
      state.map((x) => ({ segmentId: x.s.id, arm: 'B', estimate: x.b.n && x.a.n ? x.b.sum / x.b.n - x.a.sum / x.a.n : 0, pValue: x.minP })),
      { alpha: ALPHA, method: 'holm', direction: 'increase' },
    );
    history.decide.push({ cycle: t, outcome: 'continue', segmentDecisions: decisions.map((d) => ({ segmentId: d.segmentId, adjustedPValue: d.adjustedPValue })) });
    decisions.forEach((d, i) => {
      const x = at(state, i, 'state');
      if (x.concluded || d.outcome === 'none') return;
      x.concluded = true;
      if (x.s.majority === HARMED) harmedEndedBy.push(`decision-${d.outcome}`);
      anyDiscovery = true;
      if (NULLS.includes(x.s.majority)) falseDiscoveries++;
      if (d.outcome === 'ship' && x.s.id === helpedSeg && helpedDetectedAt === null) helpedDetectedAt = total;
    });
    const open = state.filter((x) => !x.concluded);
    const results = evaluateSegments({
      segments: open.map((x) => ({
        id: x.s.id,
        size: POPULATION * (x.s.accrual / ACCRUAL),
        accrualPerCycle: x.s.accrual,
        arms: { A: x.a, B: x.b },
        prediction: predict(feats.get(x.s.id)!, model),
        previousStatus: x.status,
        previousCoverage: x.coverage,
        tau: x.tau,
      })),
      config,
      remainingBudget: { cycles: HORIZON - t },
      alpha: ALPHA,
      look: t,
    });
    results.forEach((r, i) => {
      const x = at(open, i, 'open');
      if (r.status === 'terminated' && x.status !== 'terminated') {
        const key = `${r.rule}:${x.s.majority === HELPED ? "helped" : x.s.majority === HARMED ? "harmed" : "null"}`;
        terminations[key] = (terminations[key] ?? 0) + 1;
        if (x.s.majority === HARMED) harmedEndedBy.push(r.rule);
        if (DEBUG && x.s.majority === HARMED) { DEBUG.harmEndCycle += t; DEBUG.harmEnds++; }
        if (r.rule === 'harm') {
          anyHarmTermination = true;
          if (NULLS.includes(x.s.majority)) nullHarmTerminations++;
        }
      }
      x.status = r.status;
      x.coverage = r.coverage;
    });
  }
  return { helpedDetectedAt, harmedExposure: harmed, totalSamples: total, falseDiscoveries, nullHarmTerminations, anyDiscovery, anyHarmTermination, terminations, harmedEndedBy, history };
}

function predict(f: ReturnType<typeof featuresFromMoments>, model: TtsigModel | null): SignificancePrediction {
  return predictTimeToSignificance(f, { model, alpha: TTSIG_COLD_START_TEST.alpha, capSamples: 1e7 });
}

// ---------- shadow runs for prediction scoring ----------
interface ShadowPoint {
  sim: number;
  features: ReturnType<typeof featuresFromMoments>;
  realisedSamples: number;
  accrual: number;
}
const SCORE_CYCLES = [2, 5, 10];
function shadow(rng: Rng, sim: number, s: SegmentWorld, lift: number[], history: TtsigTrainingRow[], points: ShadowPoint[]): void {
  let a = empty();
  let b = empty();
  const pA = rate(s.mix, lift, 0);
  const pB = rate(s.mix, lift, 1);
  const tau = TAU_REL * pA;
  const feats: Array<{ f: ReturnType<typeof featuresFromMoments>; samples: number; t: number }> = [];
  const n = Math.round(s.accrual);
  for (let t = 1; t <= HORIZON; t++) {
    const nA = binomial(rng, n, 0.5);
    a = addBinary(a, nA, binomial(rng, nA, pA));
    b = addBinary(b, n - nA, binomial(rng, n - nA, pB));
    const iv = mixtureSequentialInterval(a, b, TTSIG_COLD_START_TEST.alpha, tau);
    if (iv.lower > 0 || iv.upper < 0) {
      const crossedAt = a.n + b.n;
      for (const x of feats) {
        const remaining = crossedAt - x.samples;
        if (SCORE_CYCLES.includes(x.t)) points.push({ sim, features: x.f, realisedSamples: remaining, accrual: s.accrual });
        if (history.length < 4000) history.push({ features: ttsigFeatures(x.f), logSamples: Math.log1p(remaining) });
      }
      return;
    }
    feats.push({ f: featuresFromMoments(a, b, POPULATION * (s.accrual / ACCRUAL), s.accrual, t), samples: a.n + b.n, t });
  }
}

// ---------- main ----------
const started = performance.now();
const rng = createRng(SEED);
const pooledBase = rate(SHARES, LIFT, 0);
const pooledEffect = rate(SHARES, LIFT, 1) - pooledBase;
const fixedPlan = predictSamplesAnalytic({ size: POPULATION, accrualPerCycle: ACCRUAL, baselineRate: pooledBase, observedEffect: pooledEffect, variance: pooledBase * (1 - pooledBase), cyclesElapsed: 0, samplesPerArm: 0 }, { alpha: ALPHA, power: 0.8 });
const fixedCycles = Math.min(HORIZON, Math.ceil((2 * fixedPlan.requiredPerArm) / ACCRUAL));
const NULL_LIFT = [0, 0, 0, 0];

const main = { a: [] as PooledOutcome['fixed'][], b: [] as PooledOutcome['seq'][], c: [] as BranchingOutcome[] };
const nul = { a: 0, b: 0, c: 0, cHarm: 0 };
const segInfo = { k: [] as number[], silhouette: [] as number[], placement: [] as number[], helpedPurity: [] as number[] };
const history: TtsigTrainingRow[] = [];
const shadowPoints: ShadowPoint[] = [];
// (c)'s own history: every finished run (main and null scenario, like a company's past experiments),
// newest last; the tree is retrained on it every RETRAIN_EVERY sims once it has enough labelled rows.
const runHistories: ExperimentHistory[] = [];
let cModel: TtsigModel = COLD_START_MODEL;
let cModelSource = 'cold-start';
const retrainLog = { trainings: 0, ms: 0, lastRows: 0, simsOnColdStart: 0 };
const strong = { harmRule: 0, budget: 0, other: 0, harmedExposure: [] as number[] };
const STRONG_LIFT = [0.15, 0, 0, -0.3];
const STRONG_SIMS = Number(argv.get('strongSims') ?? 100);

for (let sim = 0; sim < SIMS; sim++) {
  const world = buildSegments(rng, SEED * 100_003 + sim);
  segInfo.k.push(world.k);
  segInfo.silhouette.push(world.silhouette);
  segInfo.placement.push(world.placementAccuracy);
  const helped = world.segments.reduce((best, s) => (at(s.mix, HELPED, 'mix') * s.accrual > at(best.mix, HELPED, 'mix') * best.accrual ? s : best));
  segInfo.helpedPurity.push(at(helped.mix, HELPED, 'mix'));

  const pooled = runPooled(rng, LIFT, fixedCycles);
  main.a.push(pooled.fixed);
  main.b.push(pooled.seq);
  if (RETRAIN_EVERY > 0 && sim > 0 && sim % RETRAIN_EVERY === 0) {
    const rows = historyTrainingRows(runHistories, { maxRows: RETRAIN_MAX_ROWS, maxRowsPerSegment: 8, censored: CENSORED, censoredFactor: CENSORED_FACTOR });
    if (rows.length >= RETRAIN_MIN_ROWS) {
      const t0 = performance.now();
      cModel = trainSignificanceTree(rows, { maxRows: RETRAIN_MAX_ROWS, seed: SEED + sim });
      retrainLog.ms += performance.now() - t0;
      retrainLog.trainings++;
      retrainLog.lastRows = rows.length;
      cModelSource = 'retrained';
    }
  }
  if (cModelSource === 'cold-start') retrainLog.simsOnColdStart++;
  const cMain = runBranching(rng, world.segments, LIFT, cModel, `main-${sim}`);
  main.c.push(cMain);
  runHistories.push(cMain.history);
  // Harm that is provable within the horizon (−30% in the harmed cluster): the harm rule, a claim
  // with error control, should be what ends that segment, not the budget rule.
  if (sim < STRONG_SIMS) {
    const cStrong = runBranching(rng, world.segments, STRONG_LIFT, cModel, `strong-${sim}`);
    strong.harmedExposure.push(cStrong.harmedExposure);
    for (const r of cStrong.harmedEndedBy) {
      if (r === 'harm' || r === 'decision-harm') strong.harmRule++;
      else if (r === 'budget') strong.budget++;
      else strong.other++;
    }
  }

  const pooledNull = runPooled(rng, NULL_LIFT, fixedCycles);
  if (pooledNull.fixed.detected) nul.a++;
  if (pooledNull.seq.crossed) nul.b++;
  const branchNull = runBranching(rng, world.segments, NULL_LIFT, cModel, `null-${sim}`);
  runHistories.push(branchNull.history);
  if (runHistories.length > 200) runHistories.shift();
  if (branchNull.anyDiscovery) nul.c++;
  if (branchNull.anyDiscovery || branchNull.anyHarmTermination) nul.cHarm++;

  for (const s of world.segments) shadow(rng, sim, s, LIFT, sim < SIMS / 2 ? history : [], shadowPoints);
}

// ---------- scoring ----------
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? at(s, (s.length - 1) / 2, 's') : (at(s, s.length / 2 - 1, 's') + at(s, s.length / 2, 's')) / 2) : NaN;
};
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

const aDet = main.a.filter((x) => x.detected && x.positive);
const bDet = main.b.filter((x) => x.crossed && x.positive);
const cDet = main.c.filter((x) => x.helpedDetectedAt !== null);
// Undetected runs count at the samples spent by the horizon: a lower bound on what they would need.
const bSamplesCensored = median(main.b.map((x) => (x.crossed && x.positive ? x.samples : x.samples)));
const cSamplesCensored = median(main.c.map((x) => x.helpedDetectedAt ?? x.totalSamples));
const arms = {
  a: { detectRate: aDet.length / SIMS, medianSamplesToDetect: median(aDet.map((x) => x.samples)), meanHarmedExposure: mean(main.a.map((x) => x.harmedExposure)), fwerNull: nul.a / SIMS },
  b: { detectRate: bDet.length / SIMS, medianSamplesToDetect: median(bDet.map((x) => x.samples)), medianSamplesCensored: bSamplesCensored, meanHarmedExposure: mean(main.b.map((x) => x.harmedExposure)), fwerNull: nul.b / SIMS },
  c: {
    detectRate: cDet.length / SIMS,
    medianSamplesToDetect: median(cDet.map((x) => x.helpedDetectedAt!)),
    medianSamplesCensored: cSamplesCensored,
    meanHarmedExposure: mean(main.c.map((x) => x.harmedExposure)),
    fwerNull: nul.c / SIMS,
    fwerNullInclHarmRule: nul.cHarm / SIMS,
    falseDiscoveryRateOnNullSegments: main.c.filter((x) => x.falseDiscoveries > 0).length / SIMS,
    nullSegmentsTerminatedForHarm: main.c.filter((x) => x.nullHarmTerminations > 0).length / SIMS,
    terminations: main.c.reduce<Record<string, number>>((acc, x) => {
      for (const [k, v] of Object.entries(x.terminations)) acc[k] = (acc[k] ?? 0) + v;
      return acc;
    }, {}),
  },
};

// Prediction scoring on the second half of the shadow points (the first half trains the retrained tree).
const evalPoints = shadowPoints.filter((p) => p.sim >= SIMS / 2);
const realisedCycles = evalPoints.map((p) => p.realisedSamples / p.accrual);
const treeCycles = evalPoints.map((p) => predict(p.features, COLD_START_MODEL).cycles);
const analyticCycles = evalPoints.map((p) => predict(p.features, null).cycles);
const constSamples = median(shadowPoints.filter((p) => p.sim < SIMS / 2).map((p) => p.realisedSamples));
const trafficCycles = evalPoints.map((p) => constSamples / p.accrual);
let retrained: TtsigModel | null = null;
let retrainMs = 0;
if (history.length >= 40) {
  const t0 = performance.now();
  retrained = trainSignificanceTree(history, { maxRows: 2000, seed: SEED });
  retrainMs = performance.now() - t0;
}
const retrainedCycles = retrained ? evalPoints.map((p) => predict(p.features, retrained).cycles) : [];
const intervalCoverage = (model: TtsigModel) =>
  mean(evalPoints.map((p, i) => {
    const pr = predict(p.features, model);
    return at(realisedCycles, i, 'realisedCycles') >= pr.cyclesLower && at(realisedCycles, i, 'realisedCycles') <= pr.cyclesUpper ? 1 : 0;
  }));
const cFinalCycles = cModelSource === 'retrained' ? evalPoints.map((p) => predict(p.features, cModel).cycles) : [];
const prediction = {
  points: evalPoints.length,
  crossedShare: `scored only segments whose always-valid test crossed within ${HORIZON} cycles (censored excluded)`,
  coldStartTree: { ...scorePredictions(treeCycles, realisedCycles), interval80Coverage: intervalCoverage(COLD_START_MODEL) },
  retrainedTree: retrained ? { ...scorePredictions(retrainedCycles, realisedCycles), interval80Coverage: intervalCoverage(retrained), trainRows: retrained.trainedRows, trainMs: Math.round(retrainMs) } : null,
  branchingRetrainedTree: cModelSource === 'retrained' ? { ...scorePredictions(cFinalCycles, realisedCycles), interval80Coverage: intervalCoverage(cModel), trainRows: cModel.trainedRows + cModel.holdoutRows } : null,
  analyticPlugIn: scorePredictions(analyticCycles, realisedCycles),
  trafficOnly: scorePredictions(trafficCycles, realisedCycles),
};

const seconds = (performance.now() - started) / 1000;
const ratio = arms.c.medianSamplesToDetect / arms.b.medianSamplesToDetect;
const ratioCensored = arms.c.medianSamplesCensored / arms.b.medianSamplesCensored;
const harmCut = 1 - arms.c.meanHarmedExposure / arms.b.meanHarmedExposure;
const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '—');
console.log(`segments bench: ${SIMS} sims × 2 scenarios, horizon ${HORIZON} cycles × ${ACCRUAL} units, α=${ALPHA}; fixed horizon n=${fixedCycles} cycles (${fixedCycles * ACCRUAL} units)`);
console.log(`segmentation: median k=${median(segInfo.k)} (k=4 in ${fmt((100 * segInfo.k.filter((k) => k === 4).length) / SIMS)}%), silhouette ${fmt(mean(segInfo.silhouette), 2)}, context placement agrees with behaviour ${fmt(100 * mean(segInfo.placement), 1)}%, helped-segment purity ${fmt(100 * mean(segInfo.helpedPurity), 1)}%`);
console.log('arm                               detect%  median samples to detect helped  harmed exposure (mean)  FWER all-null');
console.log(`(a) pooled fixed-horizon           ${fmt(100 * arms.a.detectRate, 1).padStart(5)}  ${fmt(arms.a.medianSamplesToDetect).padStart(31)}  ${fmt(arms.a.meanHarmedExposure).padStart(22)}  ${fmt(arms.a.fwerNull, 3).padStart(13)}`);
console.log(`(b) always-valid pooled            ${fmt(100 * arms.b.detectRate, 1).padStart(5)}  ${fmt(arms.b.medianSamplesToDetect).padStart(31)}  ${fmt(arms.b.meanHarmedExposure).padStart(22)}  ${fmt(arms.b.fwerNull, 3).padStart(13)}`);
console.log(`(c) segments + predictive branching ${fmt(100 * arms.c.detectRate, 1).padStart(4)}  ${fmt(arms.c.medianSamplesToDetect).padStart(31)}  ${fmt(arms.c.meanHarmedExposure).padStart(22)}  ${fmt(arms.c.fwerNull, 3).padStart(13)}`);
console.log(`(c)/(b) samples: ${fmt(ratio, 3)} (detected runs), ${fmt(ratioCensored, 3)} (all runs, undetected at horizon spend); harmed exposure cut ${fmt(100 * harmCut, 1)}%; (c) false discoveries on null segments ${fmt(arms.c.falseDiscoveryRateOnNullSegments, 3)}; null segments stopped by harm rule ${fmt(arms.c.nullSegmentsTerminatedForHarm, 3)}; all-null FWER incl. harm rule ${fmt(arms.c.fwerNullInclHarmRule, 3)}`);
console.log(`(c) terminations by rule: ${JSON.stringify(arms.c.terminations)}`);
console.log(`(c) tree: retrained every ${RETRAIN_EVERY} sims on ≤${RETRAIN_MAX_ROWS} history rows (censored ${CENSORED}), ${retrainLog.trainings} trainings, ${fmt(retrainLog.ms / Math.max(1, retrainLog.trainings))} ms each, last on ${retrainLog.lastRows} rows; ${retrainLog.simsOnColdStart} sims ran on the cold-start tree; budget rule q=${BUDGET_QUANTILE}, ≥${BUDGET_MIN_PER_ARM}/arm, look ≥${BUDGET_MIN_LOOKS}`);
if (DEBUG) console.log('debug', JSON.stringify(DEBUG));
const strongEnds = strong.harmRule + strong.budget + strong.other;
console.log(`(c) provable harm (−30% in the harmed cluster, ${Math.min(SIMS, STRONG_SIMS)} sims): harmed-majority segments ended by the harm rule/decision ${strong.harmRule}, by budget ${strong.budget}, other ${strong.other} (of ${strongEnds} ended); mean harmed exposure ${fmt(mean(strong.harmedExposure))}`);
console.log('time-to-significance predictions (cycles)   median |log err|   spearman   80% interval coverage');
for (const [name, s] of [['cold-start tree', prediction.coldStartTree], ['retrained tree (shadow history)', prediction.retrainedTree], ['(c)\'s retrained tree (run history, final)', prediction.branchingRetrainedTree], ['analytic plug-in', prediction.analyticPlugIn], ['traffic only', prediction.trafficOnly]] as const) {
  if (!s) continue;
  const cov = 'interval80Coverage' in s ? fmt(s.interval80Coverage, 2) : '—';
  console.log(`${name.padEnd(44)} ${fmt(s.medianAbsLogError, 3).padStart(16)}   ${fmt(s.spearman, 3).padStart(8)}   ${cov.padStart(21)}`);
}
const goals = { samplesRatioLe07: ratio <= 0.7, harmCutGe50: harmCut >= 0.5, fdLeAlpha: arms.c.falseDiscoveryRateOnNullSegments <= ALPHA && arms.c.fwerNull <= ALPHA };
console.log(`goals: ${JSON.stringify(goals)}; ${fmt(seconds, 1)} s`);
console.log(JSON.stringify({ bench: 'segments', sims: SIMS, branching: { retrainEvery: RETRAIN_EVERY, censored: CENSORED, budgetQuantile: BUDGET_QUANTILE, budgetMinPerArm: BUDGET_MIN_PER_ARM, budgetMinLooks: BUDGET_MIN_LOOKS, keepProvable: KEEP_PROVABLE, retrain: retrainLog, strongHarm: { ...strong, harmedExposure: mean(strong.harmedExposure) } }, seed: SEED, alpha: ALPHA, horizonCycles: HORIZON, fixedCycles, segmentation: { medianK: median(segInfo.k), meanSilhouette: mean(segInfo.silhouette), placementAgreement: mean(segInfo.placement), helpedPurity: mean(segInfo.helpedPurity) }, arms, samplesRatioCvsB: ratio, samplesRatioCvsBCensored: ratioCensored, harmedExposureCut: harmCut, prediction, goals, seconds }));
