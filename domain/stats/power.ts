/**
 * Power, sample size and minimum detectable effect for two-sided tests (normal approximation).
 * Proportions follow statsmodels' power_proportions_2indep / samplesize_proportions_2indep_onetail:
 * pooled standard deviation under H0, unpooled under H1, n₂ = ratio·n₁ where arm 1 is the treatment.
 * Means follow statsmodels' NormalIndPower (σ known, effect d = δ/σ).
 */
import { normalCdf, normalQuantile, normalSf } from './normal.js';

/** Power of a two-sided normal test with different null and alternative standard deviations (both tails). */
function normalPowerHet(diff: number, n1: number, alpha: number, sdNull: number, sdAlt: number): number {
  if (!(n1 > 0) || !(sdAlt > 0)) return alpha;
  const crit = normalQuantile(1 - alpha / 2);
  const ratio = sdNull / sdAlt;
  const shift = (diff * Math.sqrt(n1)) / sdAlt;
  return normalSf(crit * ratio - shift) + normalCdf(-crit * ratio - shift);
}

function proportionSds(pControl: number, pTreatment: number, ratio: number): { sdNull: number; sdAlt: number } {
  const pooled = (pTreatment + pControl * ratio) / (1 + ratio);
  const sdNull = Math.sqrt(pooled * (1 - pooled) * (1 + 1 / ratio));
  const sdAlt = Math.sqrt(pTreatment * (1 - pTreatment) + (pControl * (1 - pControl)) / ratio);
  return { sdNull, sdAlt };
}

/** Power to detect pTreatment vs pControl with nTreatment units (control gets ratio·nTreatment). */
export function powerTwoProportions(input: { pControl: number; pTreatment: number; nTreatment: number; alpha?: number; ratio?: number }): number {
  const ratio = input.ratio ?? 1;
  const { sdNull, sdAlt } = proportionSds(input.pControl, input.pTreatment, ratio);
  return normalPowerHet(input.pTreatment - input.pControl, input.nTreatment, input.alpha ?? 0.05, sdNull, sdAlt);
}

/** Treatment-arm sample size for two proportions (one-tail formula; the far tail is negligible). */
export function sampleSizeTwoProportions(input: { pControl: number; pTreatment: number; power?: number; alpha?: number; ratio?: number }): number {
  const ratio = input.ratio ?? 1;
  const diff = input.pTreatment - input.pControl;
  if (diff === 0) return Infinity;
  const { sdNull, sdAlt } = proportionSds(input.pControl, input.pTreatment, ratio);
  const zA = normalQuantile(1 - (input.alpha ?? 0.05) / 2);
  const zB = normalQuantile(input.power ?? 0.8);
  return ((zA * sdNull + zB * sdAlt) / diff) ** 2;
}

/** Power of the two-sample z-test for means with common σ (treatment n₁, control ratio·n₁). */
export function powerTwoMeans(input: { delta: number; sd: number; nTreatment: number; alpha?: number; ratio?: number }): number {
  const ratio = input.ratio ?? 1;
  const sdDiff = input.sd * Math.sqrt(1 + 1 / ratio);
  return normalPowerHet(input.delta, input.nTreatment, input.alpha ?? 0.05, sdDiff, sdDiff);
}

/** Treatment-arm sample size for a difference in means δ with common σ (one-tail formula). */
export function sampleSizeTwoMeans(input: { delta: number; sd: number; power?: number; alpha?: number; ratio?: number }): number {
  const ratio = input.ratio ?? 1;
  if (input.delta === 0) return Infinity;
  const zA = normalQuantile(1 - (input.alpha ?? 0.05) / 2);
  const zB = normalQuantile(input.power ?? 0.8);
  return ((1 + 1 / ratio) * input.sd * input.sd * (zA + zB) ** 2) / (input.delta * input.delta);
}

/** Minimum detectable absolute difference in means at n per arm (ratio 1 unless given). */
export function minimumDetectableEffectMeans(input: { sd: number; nTreatment: number; power?: number; alpha?: number; ratio?: number }): number {
  const ratio = input.ratio ?? 1;
  if (!(input.nTreatment > 0)) return Infinity;
  const zA = normalQuantile(1 - (input.alpha ?? 0.05) / 2);
  const zB = normalQuantile(input.power ?? 0.8);
  return (zA + zB) * input.sd * Math.sqrt((1 + 1 / ratio) / input.nTreatment);
}

/**
 * Minimum detectable absolute lift (pTreatment − pControl > 0) at n per arm: the root of the one-tail
 * sample-size formula, found by bisection because the alternative's variance depends on the lift.
 * Returns the largest feasible lift (1 − pControl) with reason when even that is not detectable.
 */
export function minimumDetectableEffectProportions(input: { pControl: number; nTreatment: number; power?: number; alpha?: number; ratio?: number }): { mde: number; reason?: 'not-detectable' } {
  const p = input.pControl;
  const need = (d: number) => sampleSizeTwoProportions({ ...input, pTreatment: p + d }) - input.nTreatment;
  let lo = 0;
  let hi = 1 - p;
  if (!(input.nTreatment > 0) || !(hi > 0) || need(hi) > 0) return { mde: hi, reason: 'not-detectable' };
  for (let i = 0; i < 200 && hi - lo > 1e-15; i++) {
    const mid = 0.5 * (lo + hi);
    if (need(mid) > 0) lo = mid;
    else hi = mid;
  }
  return { mde: 0.5 * (lo + hi) };
}
