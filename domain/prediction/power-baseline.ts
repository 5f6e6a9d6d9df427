/**
 * Analytic time-to-significance: the classic two-sample power formula with plug-in estimates.
 * It is the fallback when no tree is available and one of the tree's inputs. It answers "how many
 * more samples would a fixed-horizon z-test need", which underestimates an always-valid test (that
 * pays for continuous monitoring) by a roughly constant factor — the tree learns that factor.
 */
import { normalQuantile } from '../stats/normal.js';

/** What is known about a segment at prediction time. */
export interface SegmentPredictionFeatures {
  /** Units in the segment's population (from segmentation). */
  size: number;
  /** Units entering the experiment from this segment per cycle at full coverage (all arms). */
  accrualPerCycle: number;
  /** Control mean (conversion rate for binary metrics). */
  baselineRate: number;
  /** Observed treatment − control difference of means (absolute units). */
  observedEffect: number;
  /** Pooled per-unit variance of the metric. */
  variance: number;
  cyclesElapsed: number;
  /** Units collected so far per arm (the smaller arm). */
  samplesPerArm: number;
  /** Arms sharing the segment's traffic (control included). Default 2. */
  arms?: number;
}

export interface AnalyticOptions {
  alpha?: number;
  power?: number;
  /** Finite stand-in for "never" (total samples). Default 1e7. */
  capSamples?: number;
  /** Traffic multiplier in force, to turn samples into cycles. Default 1 (full coverage). */
  coverage?: number;
}

/** Plug-in power-formula prediction of the remaining samples and cycles. */
export interface AnalyticPrediction {
  /** n per arm = (z_{1−α/2} + z_power)² · 2σ² / δ². */
  requiredPerArm: number;
  /** Remaining samples over all arms, ≥ 0, at most `capSamples`. */
  remainingSamples: number;
  remainingCycles: number;
  /** True when the effect is ≈ 0 or the answer hit the cap: "not in any useful horizon". */
  capped: boolean;
}

/** Power-formula samples (and cycles) still needed for significance, with a finite cap. */
export function predictSamplesAnalytic(f: SegmentPredictionFeatures, options: AnalyticOptions = {}): AnalyticPrediction {
  const alpha = options.alpha ?? 0.05;
  const power = options.power ?? 0.8;
  const cap = options.capSamples ?? 1e7;
  const arms = f.arms ?? 2;
  const zA = normalQuantile(1 - alpha / 2);
  const zB = normalQuantile(power);
  const variance = Math.max(f.variance, 1e-12);
  const delta = Math.abs(f.observedEffect);
  let requiredPerArm = delta > 1e-12 ? ((zA + zB) ** 2 * 2 * variance) / (delta * delta) : Infinity;
  let remaining = Math.max(0, requiredPerArm - f.samplesPerArm) * arms;
  const capped = !Number.isFinite(remaining) || remaining >= cap;
  if (capped) remaining = cap;
  if (!Number.isFinite(requiredPerArm)) requiredPerArm = cap / arms;
  const rate = Math.max(f.accrualPerCycle * (options.coverage ?? 1), 1e-9);
  return { requiredPerArm, remainingSamples: remaining, remainingCycles: remaining / rate, capped };
}
