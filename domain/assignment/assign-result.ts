/**
 * Result type of `assign` and the frozen result objects precomputed per snapshot. Every outcome of
 * the hash path depends only on (segment, variant, reason), so `compileSnapshot` builds them once
 * and the hot path returns a shared frozen object instead of allocating one per call.
 */
import type { Assignment } from '../types.js';

/** Why a unit got what it got. */
export type AssignReason =
  | 'enrolled'
  | 'contextual'
  | 'stratified'
  | 'not_started'
  | 'paused'
  | 'stopped'
  | 'concluded'
  | 'not_eligible'
  | 'holdout'
  | 'layer'
  | 'segment_terminated'
  | 'coverage';

/** Assignment with the reason narrowed to the known set. Shared and frozen: copy before changing. */
export type AssignResult = Readonly<Assignment & { reason: AssignReason }>;

/** A frozen assignment result. */
export function makeResult(
  variant: string,
  propensity: number,
  segment: number,
  snapshotVersion: number,
  enrolled: boolean,
  reason: AssignReason,
): AssignResult {
  return Object.freeze({ variant, propensity, segment, snapshotVersion, enrolled, reason });
}
