/**
 * Dynamic Allocation Controller: a risk-adjusted contextual policy for a control/treatment pair.
 *
 * 1. Fit: an ml-cart regression tree on context features → the transformed outcome
 *    Z = y·(T/e − (1−T)/(1−e)) (Athey & Imbens 2016), whose conditional mean is the uplift
 *    τ(x) = E[y|x,T] − E[y|x,C]. So the tree splits where the *uplift* differs, not where the
 *    outcome level does. Rows are capped (most recent `maxRows`) because CART fitting is O(n²).
 * 2. Score: in each leaf, uplift = mean_T − mean_C of the raw outcomes, SE from the two sample
 *    variances, LCB = uplift − z·SE. Risk is judged on the lower bound, not the point estimate.
 * 3. Control: treatment share = baseline, minus `adjustment.down` where LCB < −riskTolerance
 *    (plausibly harmful), plus `adjustment.up` where LCB > 0 (likely benefit); then external-context
 *    dampening; never below the exploration floor for either arm.
 *
 * The result is the snapshot's `contextual` field: `assign` walks the tree and serves the leaf's
 * weights, logging them as propensities.
 */
import { DecisionTreeRegression } from 'ml-cart';
import type { AllocationSnapshot } from '../types.js';
import { at } from '../at.js';

/** One recent unit: its context features (in `features` order), arm, outcome and logged propensity. */
export interface ContextRow {
  features: number[];
  variant: string;
  y: number;
  /** P(variant | enrolled, context) logged at assignment; the treatment share is used if absent. */
  propensity?: number;
}

/** Controller configuration (per experiment). */
export interface ContextualConfig {
  control: string;
  treatment: string;
  /** Context attribute names, in the column order of `ContextRow.features`. */
  features: string[];
  /** Treatment share with no evidence either way (e.g. 0.5). */
  baseline: number;
  /** Largest shift of the treatment share toward control (down) and toward treatment (up). */
  adjustment: { down: number; up: number };
  /** Tolerated harm in outcome units: a leaf is high-risk when its uplift LCB < −riskTolerance. */
  riskTolerance: number;
  /** Minimum share of each arm in every context. */
  floor: number;
  /** z of the one-sided lower bound (default 1.645 ≈ 95%). */
  z?: number;
  /** Whether a larger outcome is good (default) or bad. */
  direction?: 'increase' | 'decrease';
  /** Most recent rows used for fitting (default 5000). */
  maxRows?: number;
  /** Tree depth (default 3). */
  maxDepth?: number;
  /** Nodes with at most this many rows become leaves (default 100). */
  minNodeRows?: number;
  /** Splits leaving fewer rows than this on one side are undone (default 50). */
  minLeafRows?: number;
  /** A leaf needs this many rows of each arm before its LCB counts (default 30); else baseline. */
  minArmRows?: number;
}

/** Per-leaf evidence behind the served weights. */
export interface LeafSummary {
  node: number;
  nControl: number;
  nTreatment: number;
  uplift: number | null;
  se: number | null;
  lcb: number | null;
  treatmentShare: number;
  risk: 'high' | 'benefit' | 'neutral' | 'insufficient';
}

export type ContextualModel = NonNullable<AllocationSnapshot['contextual']>;

/** The fitted model for the snapshot plus the per-leaf summaries for audit. */
export interface ContextualFit {
  model: ContextualModel;
  leaves: LeafSummary[];
  rowsUsed: number;
}

type SplitNode = { feature: number; threshold: number; left: number; right: number };
type FlatNode = SplitNode | { leaf: true };

/** Uplift point estimate, standard error and lower bound from two arms' samples. */
export function upliftLowerBound(
  control: { n: number; sum: number; sumSquares: number },
  treatment: { n: number; sum: number; sumSquares: number },
  z = 1.645,
): { uplift: number; se: number; lcb: number } {
  const mc = control.sum / control.n;
  const mt = treatment.sum / treatment.n;
  const vc = Math.max(control.sumSquares - control.n * mc * mc, 0) / Math.max(control.n - 1, 1);
  const vt = Math.max(treatment.sumSquares - treatment.n * mt * mt, 0) / Math.max(treatment.n - 1, 1);
  const se = Math.sqrt(vc / control.n + vt / treatment.n);
  const uplift = mt - mc;
  return { uplift, se, lcb: uplift - z * se };
}

/** Treatment share for a leaf's uplift LCB (null = not enough data), before dampening and floor. */
export function riskAdjustedShare(lcb: number | null, config: Pick<ContextualConfig, 'baseline' | 'adjustment' | 'riskTolerance'>): { share: number; risk: LeafSummary['risk'] } {
  if (lcb === null) return { share: config.baseline, risk: 'insufficient' };
  if (lcb < -config.riskTolerance) return { share: config.baseline - config.adjustment.down, risk: 'high' };
  if (lcb > 0) return { share: config.baseline + config.adjustment.up, risk: 'benefit' };
  return { share: config.baseline, risk: 'neutral' };
}

/**
 * Fit the uplift tree on recent rows and turn it into the snapshot's contextual model.
 * `dampening` (0..1, from `dampeningFactor`) scales every leaf's treatment share down.
 */
export function fitContextualPolicy(rows: readonly ContextRow[], config: ContextualConfig, dampening = 0): ContextualFit {
  const z = config.z ?? 1.645;
  const sign = config.direction === 'decrease' ? -1 : 1;
  const nf = config.features.length;
  const usable = rows.filter(
    (r) => (r.variant === config.control || r.variant === config.treatment) && r.features.length === nf && r.features.every(Number.isFinite) && Number.isFinite(r.y),
  );
  const recent = usable.slice(Math.max(usable.length - (config.maxRows ?? 5000), 0));

  const flat = fitUpliftTree(recent, config, sign);
  // Route every row to its leaf and accumulate raw outcome moments per arm.
  const stats = flat.map(() => ({ c: { n: 0, sum: 0, sumSquares: 0 }, t: { n: 0, sum: 0, sumSquares: 0 } }));
  for (const r of recent) {
    const s = at(stats, walk(flat, r.features), 'leaf stats');
    const m = r.variant === config.treatment ? s.t : s.c;
    const y = sign * r.y;
    m.n++;
    m.sum += y;
    m.sumSquares += y * y;
  }

  const minArm = config.minArmRows ?? 30;
  const leaves: LeafSummary[] = [];
  const nodes: ContextualModel['nodes'] = flat.map((node, i) => {
    if (!('leaf' in node)) return node;
    const { c, t } = at(stats, i, 'leaf stats');
    const est = c.n >= minArm && t.n >= minArm ? upliftLowerBound(c, t, z) : null;
    const { share, risk } = riskAdjustedShare(est ? est.lcb : null, config);
    const treatmentShare = clampShare(share * (1 - Math.min(Math.max(dampening, 0), 1)), config.floor);
    leaves.push({
      node: i,
      nControl: c.n,
      nTreatment: t.n,
      uplift: est ? est.uplift : null,
      se: est ? est.se : null,
      lcb: est ? est.lcb : null,
      treatmentShare,
      risk,
    });
    return { weights: [1 - treatmentShare, treatmentShare], lcb: est ? est.lcb : null, n: c.n + t.n };
  });
  return { model: { features: [...config.features], variants: [config.control, config.treatment], nodes }, leaves, rowsUsed: recent.length };
}

/** Treatment share served to a context under a fitted model (what `assign` would use). */
export function treatmentShareFor(model: ContextualModel, features: readonly number[]): number {
  const leaf = at(model.nodes, walk(model.nodes as FlatNode[], features), 'tree nodes');
  return 'weights' in leaf ? at(leaf.weights, 1, 'leaf weights') : NaN;
}

/** Uplift LCB of the leaf a context falls in (null when that leaf lacked data). */
export function scoreUplift(model: ContextualModel, features: readonly number[]): number | null {
  const leaf = at(model.nodes, walk(model.nodes as FlatNode[], features), 'tree nodes');
  return 'weights' in leaf ? leaf.lcb : null;
}

function clampShare(share: number, floor: number): number {
  const f = Math.min(Math.max(floor, 0), 0.5);
  return Math.min(Math.max(share, f), 1 - f);
}

function walk(nodes: ReadonlyArray<FlatNode | ContextualModel['nodes'][number]>, x: readonly number[]): number {
  let i = 0;
  for (;;) {
    const n = at(nodes, i, 'tree nodes');
    if (!('feature' in n)) return i;
    // A context without the split's feature is a caller bug (the model names its features), not a right turn.
    i = at(x, n.feature, 'features') < n.threshold ? n.left : n.right;
  }
}

/** ml-cart tree on the transformed outcome, flattened breadth-first so children follow parents. */
function fitUpliftTree(rows: readonly ContextRow[], config: ContextualConfig, sign: number): FlatNode[] {
  const nT = rows.filter((r) => r.variant === config.treatment).length;
  const share = rows.length ? nT / rows.length : 0;
  if (rows.length < 2 || nT === 0 || nT === rows.length) return [{ leaf: true }];
  const x = rows.map((r) => r.features);
  const zs = rows.map((r) => {
    const isT = r.variant === config.treatment;
    // e = P(treatment | context) at assignment time; bounded away from 0/1 to cap the IPW variance.
    const e = Math.min(Math.max(r.propensity !== undefined ? (isT ? r.propensity : 1 - r.propensity) : share, 0.01), 0.99);
    return sign * r.y * (isT ? 1 / e : -1 / (1 - e));
  });
  const tree = new DecisionTreeRegression({ maxDepth: config.maxDepth ?? 3, minNumSamples: config.minNodeRows ?? 100 });
  tree.train(x, zs);
  const root = (tree.toJSON() as { root: CartNode }).root;
  const flat: FlatNode[] = [];
  const queue: Array<{ node: CartNode; slot: number }> = [{ node: root, slot: 0 }];
  flat.push({ leaf: true });
  while (queue.length) {
    const { node, slot } = queue.shift()!;
    if (node.left && node.right && node.splitColumn !== undefined && node.splitValue !== undefined) {
      const left = flat.length;
      flat.push({ leaf: true });
      const right = flat.length;
      flat.push({ leaf: true });
      flat[slot] = { feature: node.splitColumn, threshold: node.splitValue, left, right };
      queue.push({ node: node.left, slot: left }, { node: node.right, slot: right });
    }
  }
  return pruneSmallLeaves(flat, x, config.minLeafRows ?? 50);
}

/**
 * ml-cart has no minimum leaf size and happily cuts off a handful of rows; such leaves could never
 * reach `minArmRows`, so a split whose smaller side has fewer than `minLeafRows` rows is undone.
 */
function pruneSmallLeaves(flat: FlatNode[], x: readonly number[][], minLeafRows: number): FlatNode[] {
  const counts = new Array<number>(flat.length).fill(0);
  for (const row of x) {
    let i = 0;
    for (;;) {
      counts[i] = at(counts, i, 'node counts') + 1;
      const n = at(flat, i, 'tree nodes');
      if ('leaf' in n) break;
      i = at(row, n.feature, 'features') < n.threshold ? n.left : n.right;
    }
  }
  const out: FlatNode[] = [{ leaf: true }];
  const queue: Array<{ src: number; slot: number }> = [{ src: 0, slot: 0 }];
  while (queue.length) {
    const { src, slot } = queue.shift()!;
    const n = at(flat, src, 'tree nodes');
    if ('leaf' in n || Math.min(at(counts, n.left, 'node counts'), at(counts, n.right, 'node counts')) < minLeafRows) continue;
    const left = out.length;
    out.push({ leaf: true });
    const right = out.length;
    out.push({ leaf: true });
    out[slot] = { feature: n.feature, threshold: n.threshold, left, right };
    queue.push({ src: n.left, slot: left }, { src: n.right, slot: right });
  }
  return out;
}

/** The parts of ml-cart's TreeNode we read. */
interface CartNode {
  left?: CartNode;
  right?: CartNode;
  splitColumn?: number;
  splitValue?: number;
}
