/**
 * Simulated experiment histories for the cold-start time-to-significance model. Each simulated
 * segment accrues binomial conversions per cycle in two arms (sufficient statistics only), is
 * checked each cycle with an always-valid test, and yields one training row per cycle before it
 * crosses: features at that cycle → log of the samples it still needed.
 */
import { at } from '../at.js';
import { normal, type Rng } from '../rng.js';
import type { Moments } from '../types.js';
import type { SegmentPredictionFeatures } from './power-baseline.js';
import { ttsigFeatures, type TtsigTrainingRow } from './tree-model.js';

/** Returns true when the always-valid interval for treatment − control excludes 0. */
export type CrossingTest = (control: Moments, treatment: Moments) => boolean;

export interface SimulatedSegmentSpec {
  baselineRate: number;
  relativeEffect: number;
  accrualPerCycle: number;
  size: number;
  horizonCycles: number;
}

export interface SimulatedTrajectory {
  spec: SimulatedSegmentSpec;
  /** Features at the end of each cycle (before crossing, inclusive of the crossing cycle). */
  features: SegmentPredictionFeatures[];
  /** Total samples (both arms) at the end of each cycle. */
  samples: number[];
  /** Total samples when the test first crossed, or null when it never did within the horizon. */
  crossedAtSamples: number | null;
}

/** Binomial(n, p) draw: exact by summation for small n·p, normal approximation otherwise. */
export function binomial(rng: Rng, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  const mean = n * p;
  if (n < 60 || mean < 15 || n - mean < 15) {
    // Inversion by waiting times: geometric gaps between successes, O(n·p) draws.
    let x = 0;
    let i = 0;
    const logq = Math.log(1 - p);
    for (;;) {
      i += Math.floor(Math.log(1 - rng()) / logq) + 1;
      if (i > n) return x;
      x++;
    }
  }
  const draw = Math.round(mean + Math.sqrt(mean * (1 - p)) * normal(rng));
  return Math.min(n, Math.max(0, draw));
}

/** Adds k successes out of n Bernoulli trials to binary-metric moments. */
export function addBinary(m: Moments, n: number, k: number): Moments {
  return { n: m.n + n, sum: m.sum + k, sumSquares: m.sumSquares + k };
}

/**
 * Draws a random segment scenario covering the ranges production segments live in. The mixture is
 * weighted towards what segment-level experiments mostly look like: low conversion rates (baseline
 * log-uniform on 1–30%, so half the draws are under ~5.5%), many null segments (40%), and small
 * relative effects (half the non-null draws are 2–20% in either direction, the rest up to ±40%).
 * Accrual is log-uniform on 100–8000 units per cycle and the horizon uniform on 30–120 cycles, so
 * the censoring point varies as it does across real experiments.
 */
export function drawSegmentSpec(rng: Rng, horizonCycles?: number): SimulatedSegmentSpec {
  const baselineRate = Math.exp(Math.log(0.01) + rng() * Math.log(30));
  const sign = rng() < 0.5 ? -1 : 1;
  const u = rng();
  const relativeEffect = u < 0.4 ? 0 : u < 0.7 ? sign * (0.02 + rng() * 0.18) : sign * rng() * 0.4;
  const accrualPerCycle = Math.round(Math.exp(Math.log(100) + rng() * Math.log(80)));
  const horizon = horizonCycles ?? Math.round(30 + rng() * 90);
  return { baselineRate, relativeEffect, accrualPerCycle, size: accrualPerCycle * (5 + rng() * 45), horizonCycles: horizon };
}

/** Simulates one two-arm segment cycle by cycle until the test crosses or the horizon ends. */
export function simulateTrajectory(rng: Rng, spec: SimulatedSegmentSpec, test: CrossingTest): SimulatedTrajectory {
  let control: Moments = { n: 0, sum: 0, sumSquares: 0 };
  let treatment: Moments = { n: 0, sum: 0, sumSquares: 0 };
  const pT = Math.min(1, Math.max(0, spec.baselineRate * (1 + spec.relativeEffect)));
  const features: SegmentPredictionFeatures[] = [];
  const samples: number[] = [];
  for (let cycle = 1; cycle <= spec.horizonCycles; cycle++) {
    const nc = binomial(rng, spec.accrualPerCycle, 0.5);
    const nt = spec.accrualPerCycle - nc;
    control = addBinary(control, nc, binomial(rng, nc, spec.baselineRate));
    treatment = addBinary(treatment, nt, binomial(rng, nt, pT));
    features.push(featuresFromMoments(control, treatment, spec.size, spec.accrualPerCycle, cycle));
    samples.push(control.n + treatment.n);
    if (test(control, treatment)) return { spec, features, samples, crossedAtSamples: control.n + treatment.n };
  }
  return { spec, features, samples, crossedAtSamples: null };
}

/** Prediction features of a two-arm segment from its moments. */
export function featuresFromMoments(
  control: Moments,
  treatment: Moments,
  size: number,
  accrualPerCycle: number,
  cyclesElapsed: number,
): SegmentPredictionFeatures {
  const mc = control.n ? control.sum / control.n : 0;
  const mt = treatment.n ? treatment.sum / treatment.n : 0;
  const n = control.n + treatment.n;
  const pooledMean = n ? (control.sum + treatment.sum) / n : 0;
  const pooledVar = n > 1 ? Math.max(0, (control.sumSquares + treatment.sumSquares - n * pooledMean * pooledMean) / (n - 1)) : 0;
  return {
    size,
    accrualPerCycle,
    baselineRate: mc,
    observedEffect: mt - mc,
    variance: pooledVar,
    cyclesElapsed,
    samplesPerArm: Math.min(control.n, treatment.n),
  };
}

/**
 * Training rows from trajectories: each cycle before the crossing → log(samples still needed).
 * Trajectories that never crossed are right-censored; their rows use log(f × samples to the
 * horizon), f = `censoredFactor`. Default 1, the lower bound itself, as the history rows use
 * (history-rows.ts): with f = 3 the low residual quantiles of null-looking leaves became so slow
 * that the budget rule ended truly helped segments that merely looked null early on.
 */
export function trajectoriesToRows(trajectories: SimulatedTrajectory[], capSamples = 1e7, censoredFactor = 1): TtsigTrainingRow[] {
  const rows: TtsigTrainingRow[] = [];
  for (const t of trajectories) {
    const horizonSamples = t.spec.accrualPerCycle * t.spec.horizonCycles;
    for (const [i, f] of t.features.entries()) {
      const samples = at(t.samples, i, 'trajectory samples'); // one per look, like features
      const remaining =
        t.crossedAtSamples !== null ? t.crossedAtSamples - samples : censoredFactor * Math.max(horizonSamples - samples, t.spec.accrualPerCycle);
      if (t.crossedAtSamples !== null && remaining <= 0) continue; // the crossing look itself
      rows.push({ features: ttsigFeatures(f), logSamples: Math.log1p(Math.min(capSamples, remaining)) });
    }
  }
  return rows;
}
