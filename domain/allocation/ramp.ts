/**
 * Scheduled coverage ramp (e.g. 1% → 5% → 20% → 50% → 100%). Each step is held for at least its
 * minimum duration and then only advances when the guardrail check passes, so a regression is
 * caught while few units are exposed.
 */
import { at } from '../at.js';

/** One ramp step: the coverage to serve and how long to hold it at least (ms). */
export interface RampStep {
  coverage: number;
  minHoldMs: number;
}

/** Where the ramp is: the step index and when it was entered (epoch ms). */
export interface RampState {
  step: number;
  enteredAt: number;
}

/** Outcome of one ramp evaluation. */
export interface RampDecision {
  state: RampState;
  coverage: number;
  reason: 'advanced' | 'holding' | 'guardrail_failed' | 'complete';
}

/** Next ramp state given the current step, the guardrail verdict and the time. */
export function advanceRamp(schedule: readonly RampStep[], state: RampState, guardrailOk: boolean, now: number): RampDecision {
  if (schedule.length === 0) throw new RangeError('ramp schedule is empty');
  const step = Math.min(Math.max(Math.trunc(state.step), 0), schedule.length - 1);
  const cur = { step, enteredAt: state.enteredAt };
  const current = at(schedule, step, 'ramp schedule');
  const coverage = current.coverage;
  if (!guardrailOk) return { state: cur, coverage, reason: 'guardrail_failed' };
  const next = schedule[step + 1];
  if (next === undefined) return { state: cur, coverage, reason: 'complete' };
  if (now - state.enteredAt < current.minHoldMs) return { state: cur, coverage, reason: 'holding' };
  return { state: { step: step + 1, enteredAt: now }, coverage: next.coverage, reason: 'advanced' };
}
