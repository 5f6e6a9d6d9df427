/**
 * External-context dampening: incidents, campaigns or outages reported to the experiment reduce
 * the test (non-control) allocation by a factor that halves every `halfLifeMs`. Several events
 * combine like independent reductions: d = 1 − Π(1 − sᵢ·2^(−ageᵢ/halfLife)).
 */
import type { Weights } from '../types.js';

/** An external-context event; severity is the fraction of test traffic to withdraw at onset. */
export interface ExternalContextEvent {
  at: number;
  severity: number;
  kind?: string;
  /** This event's own half-life (a reaction rule's); absent = the experiment's. */
  halfLifeMs?: number;
}

/** Fraction (0..1) by which test allocation is reduced at `now`; future events are ignored. */
export function dampeningFactor(events: readonly ExternalContextEvent[], now: number, halfLifeMs: number): number {
  let keep = 1;
  for (const e of events) {
    const age = now - e.at;
    if (age < 0) continue;
    const s = Math.min(Math.max(e.severity, 0), 1);
    const h = e.halfLifeMs ?? halfLifeMs;
    const decay = h > 0 ? Math.pow(2, -age / h) : 0;
    keep *= 1 - s * decay;
  }
  return 1 - keep;
}

/** Move `factor` of every non-control arm's weight to the control arm. */
export function applyDampening(weights: Weights, control: string, factor: number): Weights {
  const controlWeight = weights[control];
  if (!(factor > 0) || controlWeight === undefined) return { ...weights };
  const f = Math.min(factor, 1);
  let moved = 0;
  for (const [k, w] of Object.entries(weights)) if (k !== control) moved += w * f;
  // Keep the caller's key order.
  return Object.fromEntries(Object.entries(weights).map(([k, w]) => [k, k === control ? controlWeight + moved : w * (1 - f)]));
}
