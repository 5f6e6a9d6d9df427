/**
 * The assignment hot path: pure, deterministic, a few hundred nanoseconds.
 *
 * Order of checks (first failing check decides the reason):
 * phase → targeting → holdout → layer range → segment terminated → coverage → arm pick.
 *
 * Independent uniforms per unit, each from its own salt:
 * - `holdout` and `layer` draws are seeded by the layer name (or the experiment seed without a
 *   layer), so every experiment in a layer sees the same holdout and the same layer bucket — two
 *   experiments with disjoint [start,end) ranges never share a unit.
 * - `coverage` and `variant` draws are seeded by the experiment seed. Raising coverage only adds
 *   units; changing weights moves only units whose draw crosses a threshold.
 *
 * Logged propensity = P(variant | enrolled, segment[, context leaf]) — the arm's weight in the
 * segment (or in the contextual leaf) at the time of assignment. It does not include the coverage
 * or eligibility probability: estimators condition on enrolment. Non-enrolled units get the default
 * variant with propensity 1 and segment −1 when they were excluded before segment placement.
 *
 * Results are frozen and, on the hash path, shared between calls (precomputed per snapshot):
 * copy before changing one.
 */
import { at } from '../at.js';
import type { AllocationSnapshot, Assignment } from '../types.js';
import { SALT_HASH as SALT, drawV1, drawV2, unitState } from './hash.js';
import { type PreparedSnapshot, compileSnapshot, findContextualLeaf, placeSegment } from './compile-snapshot.js';
import { blockCounterKey, pickFromBlock, stratumKey } from './stratified.js';
import type { AssignContext } from './targeting.js';
import { type AssignReason, type AssignResult, makeResult } from './assign-result.js';
import { assertNever } from '../assert-never.js';

export type { AssignReason, AssignResult };

/** Optional inputs of one assignment. */
export interface AssignOptions {
  /**
   * Stratified randomisation only: the value the API got from INCR on `stratumCounterKey(...)`.
   * Without it the arm is picked by hash (the API calls once to learn the key, then again).
   */
  counter?: number;
}

const memo = new WeakMap<AllocationSnapshot, PreparedSnapshot>();

/** Prepared form of a snapshot, compiled on first use and memoised per snapshot object. */
function prepareSnapshot(snapshot: AllocationSnapshot): PreparedSnapshot {
  let prep = memo.get(snapshot);
  if (!prep) {
    prep = compileSnapshot(snapshot);
    memo.set(snapshot, prep);
  }
  return prep;
}

/** Assign a unit from a snapshot (memoised compile) — same result as `assignPrepared`. */
export function assign(
  unitId: string,
  snapshot: AllocationSnapshot | PreparedSnapshot,
  context: AssignContext = {},
  opts?: AssignOptions,
): AssignResult {
  const prep = 'kind' in snapshot && snapshot.kind === 'prepared' ? snapshot : prepareSnapshot(snapshot as AllocationSnapshot);
  return assignPrepared(unitId, prep, context, opts);
}

/** Assign a unit from a prepared snapshot: the hot path. */
export function assignPrepared(
  unitId: string,
  prep: PreparedSnapshot,
  context: AssignContext,
  opts?: AssignOptions,
): AssignResult {
  const snap = prep.snapshot;
  switch (snap.phase) {
    case 'running':
      break;
    case 'draft':
      return prep.excluded.not_started;
    case 'paused':
      return prep.excluded.paused;
    case 'stopped':
      return prep.excluded.stopped;
    case 'concluded':
      return prep.concludedBySegment ? (prep.concludedBySegment[placeSegment(prep, context)] ?? prep.excluded.concluded) : prep.excluded.concluded;
    default:
      return assertNever(snap.phase, 'phase');
  }
  if (prep.eligible !== null && !prep.eligible(context)) return prep.excluded.not_eligible;

  const v2 = prep.hashVersion === 2;
  const expA = unitState(prep.seedA, unitId);
  const expB = v2 ? unitState(prep.seedB, unitId) : 0;

  if (prep.layer !== null) {
    const la = unitState(prep.layer.a, unitId);
    const lb = v2 ? unitState(prep.layer.b, unitId) : 0;
    if (prep.holdout > 0 && (v2 ? drawV2(la, lb, SALT.holdout) : drawV1(la, SALT.holdout)) < prep.holdout) {
      return prep.excluded.holdout;
    }
    const bucket = v2 ? drawV2(la, lb, SALT.layer) : drawV1(la, SALT.layer);
    if (bucket < prep.layer.start || bucket >= prep.layer.end) return prep.excluded.layer;
  } else if (prep.holdout > 0 && (v2 ? drawV2(expA, expB, SALT.holdout) : drawV1(expA, SALT.holdout)) < prep.holdout) {
    return prep.excluded.holdout;
  }

  const seg = at(prep.segments, placeSegment(prep, context), 'segments');
  if (seg.status === 'terminated') return seg.terminatedResult;
  if (seg.coverage < 1) {
    const u = v2 ? drawV2(expA, expB, SALT.coverage) : drawV1(expA, SALT.coverage);
    if (u >= seg.coverage) return seg.coverageResult;
  }

  const c = prep.contextual;
  if (c !== null) {
    const leaf = findContextualLeaf(c, context);
    if (leaf >= 0) {
      const u = v2 ? drawV2(expA, expB, SALT.variant) : drawV1(expA, SALT.variant);
      const i = pickIndex(at(c.leafCum, leaf, 'contextual leafCum'), u);
      return enrolled(prep, at(c.keys, i, 'contextual variants'), at(at(c.leafWeights, leaf, 'contextual leafWeights'), i, 'leaf weights'), seg.id, 'contextual');
    }
  }
  if (prep.strata !== null && opts?.counter !== undefined) {
    const key = blockCounterKey(snap.experimentKey, seg.id, stratumKey(context, prep.strata), seg.weightsRecord);
    const variant = pickFromBlock(opts.counter, seg.weightsRecord, `${snap.seed}|${key}`);
    // pickFromBlock draws only arms with a positive weight in this record.
    const weight = seg.weightsRecord[variant];
    if (weight === undefined) throw new RangeError(`stratified pick '${variant}' has no weight in segment ${seg.id}`);
    return enrolled(prep, variant, weight, seg.id, 'stratified');
  }
  const u = v2 ? drawV2(expA, expB, SALT.variant) : drawV1(expA, SALT.variant);
  return at(seg.enrolledResults, pickIndex(seg.cum, u), 'enrolledResults');
}

/**
 * Redis counter key the API INCRs before calling `assign` again with `{counter}`, or null when the
 * snapshot is not stratified or the unit was not enrolled by weight (contextual leaves pick by hash).
 */
export function stratumCounterKey(prep: PreparedSnapshot, first: Assignment, context: AssignContext): string | null {
  if (prep.strata === null || !first.enrolled || first.reason === 'contextual') return null;
  const seg = prep.segments.find((s) => s.id === first.segment);
  if (!seg) return null;
  return blockCounterKey(prep.snapshot.experimentKey, seg.id, stratumKey(context, prep.strata), seg.weightsRecord);
}

function pickIndex(cum: readonly number[], u: number): number {
  const last = cum.length - 1;
  for (let i = 0; i < last; i++) if (u < at(cum, i, 'cumulative weights')) return i;
  return last;
}

function enrolled(prep: PreparedSnapshot, variant: string, propensity: number, segment: number, reason: AssignReason): AssignResult {
  return makeResult(variant, propensity, segment, prep.snapshot.version, true, reason);
}
