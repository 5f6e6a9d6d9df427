/** Shadow scores against hand computations on small data. */
import { describe, expect, it } from 'vitest';
import { counterfactualReward, scoreBinary } from '../../../domain/models/shadow-scores.js';

describe('binary shadow scores', () => {
  // Positives score 0.9, 0.6, 0.4; negatives 0.7, 0.2, 0.1.
  const rows = [
    { score: 0.9, outcome: 1 as const },
    { score: 0.6, outcome: 1 as const },
    { score: 0.4, outcome: 1 as const },
    { score: 0.7, outcome: 0 as const },
    { score: 0.2, outcome: 0 as const },
    { score: 0.1, outcome: 0 as const },
  ];
  it('AUC: the share of positive–negative pairs ranked right', () => {
    // Pairs (pos > neg): 0.9 beats all 3; 0.6 beats 0.2, 0.1; 0.4 beats 0.2, 0.1 → 7 of 9.
    expect(scoreBinary(rows).auc).toBeCloseTo(7 / 9, 12);
  });
  it('log loss: mean of −log p for positives and −log(1 − p) for negatives', () => {
    const hand = -(Math.log(0.9) + Math.log(0.6) + Math.log(0.4) + Math.log(0.3) + Math.log(0.8) + Math.log(0.9)) / 6;
    expect(scoreBinary(rows).logLoss).toBeCloseTo(hand, 12);
  });
  it('calibration in two bins, and its expected error', () => {
    const s = scoreBinary(rows, 2);
    // [0, 0.5): 0.4 (1), 0.2 (0), 0.1 (0) → predicted 0.2333, observed 1/3; [0.5, 1]: 0.9, 0.6 (1), 0.7 (0) → 0.7333, 2/3.
    expect(s.calibration.map((b) => [b.n, b.meanPredicted, b.observedRate])).toEqual([
      [3, expect.closeTo(0.7 / 3, 12), expect.closeTo(1 / 3, 12)],
      [3, expect.closeTo(2.2 / 3, 12), expect.closeTo(2 / 3, 12)],
    ]);
    expect(s.expectedCalibrationError).toBeCloseTo(0.5 * (1 / 3 - 0.7 / 3) + 0.5 * (2.2 / 3 - 2 / 3), 12);
  });
  it('ties count half; one class has no AUC; probabilities of 0 and 1 are clipped', () => {
    expect(scoreBinary([{ score: 0.5, outcome: 1 }, { score: 0.5, outcome: 0 }]).auc).toBe(0.5);
    expect(scoreBinary([{ score: 0.5, outcome: 1 }]).auc).toBeNull();
    expect(scoreBinary([{ score: 0, outcome: 1 }]).logLoss).toBeCloseTo(-Math.log(1e-15), 9);
  });
});

describe('counterfactual reward of a shadow policy', () => {
  it('is the IPS mean over all units of the matched rewards', () => {
    const rows = [
      { shadowAction: 'a', loggedAction: 'a', propensity: 0.5, reward: 1 },
      { shadowAction: 'a', loggedAction: 'b', propensity: 0.5, reward: 1 },
      { shadowAction: 'b', loggedAction: 'b', propensity: 0.25, reward: 2 },
      { shadowAction: 'b', loggedAction: 'a', propensity: 0.75, reward: 0 },
    ];
    const s = counterfactualReward(rows);
    // Terms: 1/0.5 = 2, 0, 2/0.25 = 8, 0 → V̂ = 10/4 = 2.5.
    expect(s.value).toBeCloseTo(2.5, 12);
    expect(s.matched).toBe(2);
    expect(s.matchedMeanReward).toBeCloseTo(1.5, 12);
    const variance = ((2 - 2.5) ** 2 + 2.5 ** 2 + (8 - 2.5) ** 2 + 2.5 ** 2) / 3;
    expect(s.standardError).toBeCloseTo(Math.sqrt(variance / 4), 12);
  });
});
