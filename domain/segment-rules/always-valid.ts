/**
 * INTERNAL STOP-GAP — replace with the stats engine's confidence sequence (domain/stats) once it
 * exists. Kept minimal and local so segment rules and the bench were not blocked on it.
 *
 * Normal-mixture sequential probability ratio test (mSPRT) for a difference of means, Johari,
 * Pekelis & Walsh (2017) "Always valid inference", with the CLT approximation of the difference:
 * d̂ ~ N(δ, V), V = s²_T/n_T + s²_C/n_C, and a N(0, τ²) mixture over δ. The likelihood ratio
 *   Λ = sqrt(V/(V+τ²)) · exp(τ² d̂² / (2V(V+τ²)))
 * is a test martingale under δ = 0, so rejecting when Λ ≥ 1/α controls type-I error at every look.
 * Inverting it gives the always-valid confidence sequence
 *   d̂ ± sqrt( V(V+τ²)/τ² · (2 log(1/α) + log((V+τ²)/V)) ).
 */
import type { Moments } from '../types.js';

/** An always-valid interval and p-value for treatment − control at one look. */
export interface AlwaysValidInterval {
  estimate: number;
  lower: number;
  upper: number;
  /** min(1, 1/Λ); callers keep the running minimum across looks. */
  pValue: number;
  variance: number;
}

/** mSPRT confidence sequence for mean(treatment) − mean(control); `tau` is the mixture sd (absolute units). */
export function mixtureSequentialInterval(control: Moments, treatment: Moments, alpha: number, tau: number): AlwaysValidInterval {
  if (control.n < 2 || treatment.n < 2) return { estimate: 0, lower: -Infinity, upper: Infinity, pValue: 1, variance: Infinity };
  const mc = control.sum / control.n;
  const mt = treatment.sum / treatment.n;
  const vc = Math.max(0, (control.sumSquares - control.n * mc * mc) / (control.n - 1));
  const vt = Math.max(0, (treatment.sumSquares - treatment.n * mt * mt) / (treatment.n - 1));
  // A floor keeps V > 0 when an arm has no conversions yet (binary metrics early on).
  const V = Math.max(vc / control.n + vt / treatment.n, 1e-12);
  const t2 = tau * tau;
  const d = mt - mc;
  const half = Math.sqrt(((V * (V + t2)) / t2) * (2 * Math.log(1 / alpha) + Math.log((V + t2) / V)));
  const logLambda = 0.5 * Math.log(V / (V + t2)) + (t2 * d * d) / (2 * V * (V + t2));
  return { estimate: d, lower: d - half, upper: d + half, pValue: Math.min(1, Math.exp(-logLambda)), variance: V };
}
