/**
 * Workflow time. Inside Temporal's workflow sandbox `Date` is replaced by one that returns the
 * time of the current workflow task, the same on every replay, so it is deterministic here and
 * nowhere else. ESLint forbids `Date` in `workflows/` outside this file, so every read of the
 * clock in workflow code goes through these two functions.
 */

/** Milliseconds since the epoch at the current workflow task (replay-safe). */
export function workflowNow(): number {
  return Date.now();
}

/** ISO-8601 form of a workflow timestamp in milliseconds. */
export function isoAt(ms: number): string {
  return new Date(ms).toISOString();
}
