/**
 * Stickiness decision. The API looks up the unit's stored assignment (Redis) and asks this
 * function which one to serve and whether to store the result. Keeping the first enrolled
 * assignment means weight changes only move new units, which keeps per-unit exposure consistent.
 */
import type { Assignment } from '../types.js';

/**
 * Reasons under which the fresh assignment wins even over a stored enrolled one. Layer and holdout
 * are here because mutual exclusion and the global holdout matter more than stickiness: if a range
 * is handed to another experiment, its units must leave this one.
 */
const OVERRIDING_REASONS: ReadonlySet<string> = new Set([
  'stopped',
  'concluded',
  'segment_terminated',
  'not_eligible',
  'layer',
  'holdout',
]);

/** What the API serves and whether it writes it to the sticky store. */
export interface StickyDecision {
  assignment: Assignment;
  source: 'previous' | 'fresh';
  persist: boolean;
}

/**
 * Serve the stored assignment when it is still valid, else the fresh one.
 * - A stored enrolled assignment is kept if its variant still exists and the experiment has not
 *   stopped/concluded, terminated the unit's segment, made the unit ineligible, or moved it out of
 *   the layer range or into the holdout. Its logged
 *   propensity stays the one from first assignment: that is the probability the unit was randomised with.
 * - Paused experiments keep serving enrolled units their variant; new units get the default.
 * - A stored non-enrolled result never blocks later enrolment (coverage ramps add units).
 * Only fresh enrolled assignments are persisted.
 */
export function resolveSticky(
  previous: Assignment | null | undefined,
  fresh: Assignment,
  validVariants?: ReadonlySet<string> | readonly string[],
): StickyDecision {
  const keep =
    previous != null &&
    previous.enrolled &&
    !OVERRIDING_REASONS.has(fresh.reason) &&
    (validVariants === undefined || hasVariant(validVariants, previous.variant));
  if (keep) {
    return {
      assignment: { ...previous, reason: 'sticky' },
      source: 'previous',
      persist: false,
    };
  }
  return { assignment: fresh, source: 'fresh', persist: fresh.enrolled };
}

function hasVariant(valid: ReadonlySet<string> | readonly string[], v: string): boolean {
  return Array.isArray(valid) ? valid.includes(v) : (valid as ReadonlySet<string>).has(v);
}
