/**
 * Scores of a shadow model — one that is never served — against the outcomes of the traffic that was
 * served. Callers log the shadow's predictions per unit; the outcomes are the served units' events.
 *   binary outcome  AUC (Mann–Whitney, ties averaged), log loss (probabilities clipped to
 *                   [1e-15, 1 − 1e-15], scikit-learn's convention), and calibration in equal-width bins
 *                   with its expected calibration error;
 *   ranker/policy   the counterfactual reward of the shadow's action: inverse-propensity weighting over
 *                   the units whose logged (served) action matches it, V̂ = (1/N) Σ 1[a = â]·r / p,
 *                   with its standard error, beside the plain mean reward of the matched units.
 */
import { averageRanks } from '../prediction/calibration.js';

export interface BinaryRow {
  /** The shadow's predicted probability of the outcome. */
  score: number;
  outcome: 0 | 1;
}

export interface CalibrationBin {
  lower: number;
  upper: number;
  n: number;
  meanPredicted: number;
  observedRate: number;
}

export interface BinaryScores {
  n: number;
  positives: number;
  /** null when only one class is present. */
  auc: number | null;
  logLoss: number;
  calibration: CalibrationBin[];
  /** Σ_bins (n_b / N)·|observed − predicted|. */
  expectedCalibrationError: number;
}

const EPS = 1e-15;

export function scoreBinary(rows: readonly BinaryRow[], bins = 10): BinaryScores {
  const n = rows.length;
  const positives = rows.filter((r) => r.outcome === 1).length;
  let auc: number | null = null;
  if (positives > 0 && positives < n) {
    const ranks = averageRanks(rows.map((r) => r.score));
    let rankSum = 0;
    rows.forEach((r, i) => {
      if (r.outcome === 1) rankSum += ranks[i] ?? 0;
    });
    const negatives = n - positives;
    auc = (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
  }
  let loss = 0;
  for (const r of rows) {
    const p = Math.min(1 - EPS, Math.max(EPS, r.score));
    loss -= r.outcome === 1 ? Math.log(p) : Math.log(1 - p);
  }
  const table: CalibrationBin[] = [];
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    const lower = b / bins;
    const upper = (b + 1) / bins;
    const inBin = rows.filter((r) => r.score >= lower && (b === bins - 1 ? r.score <= upper : r.score < upper));
    if (!inBin.length) continue;
    const meanPredicted = inBin.reduce((a, r) => a + r.score, 0) / inBin.length;
    const observedRate = inBin.filter((r) => r.outcome === 1).length / inBin.length;
    table.push({ lower, upper, n: inBin.length, meanPredicted, observedRate });
    ece += (inBin.length / n) * Math.abs(observedRate - meanPredicted);
  }
  return { n, positives, auc, logLoss: n ? loss / n : NaN, calibration: table, expectedCalibrationError: n ? ece : NaN };
}

export interface PolicyRow {
  shadowAction: string;
  loggedAction: string;
  /** Probability with which the logged action was served (the exposure's propensity). */
  propensity: number;
  reward: number;
}

export interface PolicyScores {
  n: number;
  matched: number;
  /** IPS estimate of the shadow policy's mean reward. */
  value: number;
  standardError: number;
  /** Mean reward of the matched units (unweighted; biased when propensities differ). */
  matchedMeanReward: number | null;
}

export function counterfactualReward(rows: readonly PolicyRow[]): PolicyScores {
  const n = rows.length;
  const terms = rows.map((r) => (r.shadowAction === r.loggedAction && r.propensity > 0 ? r.reward / r.propensity : 0));
  const matchedRows = rows.filter((r) => r.shadowAction === r.loggedAction && r.propensity > 0);
  const value = n ? terms.reduce((a, b) => a + b, 0) / n : NaN;
  const variance = n > 1 ? terms.reduce((a, t) => a + (t - value) ** 2, 0) / (n - 1) : NaN;
  return {
    n,
    matched: matchedRows.length,
    value,
    standardError: Math.sqrt(variance / n),
    matchedMeanReward: matchedRows.length ? matchedRows.reduce((a, r) => a + r.reward, 0) / matchedRows.length : null,
  };
}
