/**
 * Per-arm weight thresholds for allocation policies that do not set weights themselves (fixed, ramp):
 * an arm whose chance of being best reaches `raiseWeightAbove` gets one step more traffic, one at or
 * below `lowerWeightBelow` one step less. Stopped arms stay at 0; control is never lowered below its
 * share by this rule (it is the reference every arm is compared with).
 */
import type { Weights } from '../types.js';
import { pct, type RuleNote } from './rule-note.js';

export interface WeightAction {
  arm: string;
  action: 'raise' | 'lower';
  note: RuleNote;
}

export function armWeightActions(input: { probabilityBest: Record<string, number>; control: string; raiseWeightAbove: number; lowerWeightBelow: number }): WeightAction[] {
  const out: WeightAction[] = [];
  for (const [arm, p] of Object.entries(input.probabilityBest)) {
    if (arm === input.control) continue;
    if (p >= input.raiseWeightAbove) out.push({ arm, action: 'raise', note: { rule: 'arm-weight', rationale: `${arm}: P(best) ${pct(p)} ≥ ${pct(input.raiseWeightAbove)}, raise its weight` } });
    else if (p <= input.lowerWeightBelow) out.push({ arm, action: 'lower', note: { rule: 'arm-weight', rationale: `${arm}: P(best) ${pct(p)} ≤ ${pct(input.lowerWeightBelow)}, lower its weight` } });
  }
  return out;
}

/** Applies raise/lower steps (×(1 ± step)) and renormalises; stopped arms get 0 and their share goes to control. */
export function applyWeightActions(weights: Weights, actions: readonly Pick<WeightAction, 'arm' | 'action'>[], step: number, stopped: readonly string[], control: string): Weights {
  const w: Weights = { ...weights };
  for (const a of actions) if (w[a.arm] !== undefined) w[a.arm] = (w[a.arm] ?? 0) * (a.action === 'raise' ? 1 + step : 1 - step);
  return routeStoppedArms(w, stopped, control);
}

/** Moves every stopped arm's weight to control, renormalised to sum 1. */
export function routeStoppedArms(weights: Weights, stopped: readonly string[], control: string): Weights {
  const w: Weights = { ...weights };
  for (const arm of stopped) {
    if (arm === control || w[arm] === undefined) continue;
    w[control] = (w[control] ?? 0) + (w[arm] ?? 0);
    w[arm] = 0;
  }
  return normaliseWeights(w, control);
}

/** Weights scaled to sum 1; all to control when nothing is left. */
export function normaliseWeights(w: Weights, control: string): Weights {
  const total = Object.values(w).reduce((a, b) => a + b, 0);
  if (!(total > 0)) return Object.fromEntries(Object.keys(w).map((k) => [k, k === control ? 1 : 0]));
  return Object.fromEntries(Object.entries(w).map(([k, v]) => [k, v / total]));
}
