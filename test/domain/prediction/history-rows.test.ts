import { describe, expect, it } from 'vitest';
import {
  COLD_START_MODEL,
  crossingCycles,
  experimentHistoryRows,
  historiesFromCycleRows,
  historyTrainingRows,
  predictTimeToSignificance,
  ttsigFeatures,
  type ExperimentHistory,
  type SegmentPredictionFeatures,
} from '../../../domain/prediction/index.js';

const feat = (cycle: number, perArm: number, effect = 0.01): SegmentPredictionFeatures => ({
  size: 100_000,
  accrualPerCycle: 1000,
  baselineRate: 0.05,
  observedEffect: effect,
  variance: 0.05,
  cyclesElapsed: cycle,
  samplesPerArm: perArm,
  arms: 2,
});

/** Segment 1 crosses at cycle 4 (adjusted p 0.03 ≤ 0.05); segment 2 never does. 500 units/arm/cycle. */
function history(over: Partial<ExperimentHistory> = {}): ExperimentHistory {
  const cycles = [1, 2, 3, 4, 5, 6];
  return {
    experimentId: 'e1',
    alpha: 0.05,
    predict: cycles.map((c) => ({ cycle: c, segments: [{ id: 1, features: feat(c, 500 * c) }, { id: 2, features: feat(c, 500 * c, 0) }] })),
    decide: cycles.map((c) => ({
      cycle: c,
      outcome: 'continue',
      segmentDecisions: [
        { segmentId: 1, adjustedPValue: c >= 4 ? 0.03 : 0.2 },
        { segmentId: 2, adjustedPValue: c === 5 ? 0.0500001 : 0.6 },
      ],
    })),
    ...over,
  };
}

describe('history rows: labels', () => {
  it('crossing = first cycle with Holm-adjusted p ≤ α; just above α is not a crossing', () => {
    expect([...crossingCycles(history())]).toEqual([[1, 4]]);
    // Boundary: exactly α crosses.
    const h = history();
    h.decide[1]!.segmentDecisions[1]!.adjustedPValue = 0.05;
    expect(crossingCycles(h).get(2)).toBe(2);
  });

  it('unsegmented experiments cross on an experiment-level ship or stop_harm (segment 0)', () => {
    const h: ExperimentHistory = {
      experimentId: 'e0',
      alpha: 0.05,
      predict: [1, 2, 3].map((c) => ({ cycle: c, segments: [{ id: 0, features: feat(c, 1000 * c) }] })),
      decide: [
        { cycle: 1, outcome: 'continue', segmentDecisions: [] },
        { cycle: 2, outcome: 'stop_harm', segmentDecisions: [] },
        { cycle: 3, outcome: 'ship', segmentDecisions: [] },
      ],
    };
    expect(crossingCycles(h).get(0)).toBe(2);
    const rows = experimentHistoryRows(h);
    expect(rows.map((r) => Math.expm1(r.logSamples))).toEqual([2000].map((x) => expect.closeTo(x, 6)));
  });

  it('rows before the crossing only, labelled with the samples still needed (all arms)', () => {
    const rows = experimentHistoryRows(history());
    // Cycles 1..3 of segment 1; clock = 2 × 500c; at the crossing 4000.
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => Math.round(Math.expm1(r.logSamples)))).toEqual([3000, 2000, 1000]);
    expect(rows[0]!.features).toEqual(ttsigFeatures(feat(1, 500)));
    // Segment 2 never crossed and the experiment is not finished: no rows, even with `censored`.
    expect(experimentHistoryRows(history(), { censored: true })).toHaveLength(3);
  });

  it('censored rows from finished experiments use the samples to the horizon as a lower bound', () => {
    const rows = experimentHistoryRows(history({ finished: true, horizonCycles: 10 }), { censored: true });
    const censored = rows.slice(3).map((r) => Math.round(Math.expm1(r.logSamples)));
    // Cycle c: max(clock(6) − clock(c), 1000 × (10 − c)) = 1000 × (10 − c).
    expect(censored).toEqual([9000, 8000, 7000, 6000, 5000, 4000]);
    const tripled = experimentHistoryRows(history({ finished: true, horizonCycles: 10 }), { censored: true, censoredFactor: 3 }).slice(3);
    expect(Math.round(Math.expm1(tripled[0]!.logSamples))).toBe(27_000);
  });

  it('bounds rows per segment (spread over cycles) and in total (most recent experiments kept)', () => {
    const long: ExperimentHistory = {
      experimentId: 'long',
      alpha: 0.05,
      predict: Array.from({ length: 40 }, (_, i) => ({ cycle: i + 1, segments: [{ id: 1, features: feat(i + 1, 500 * (i + 1)) }] })),
      decide: [{ cycle: 41, outcome: 'continue', segmentDecisions: [{ segmentId: 1, adjustedPValue: 0.001 }] }],
    };
    long.predict.push({ cycle: 41, segments: [{ id: 1, features: feat(41, 500 * 41) }] });
    const rows = experimentHistoryRows(long, { maxRowsPerSegment: 5 });
    expect(rows).toHaveLength(5);
    expect(rows[0]!.features).toEqual(ttsigFeatures(feat(1, 500)));
    const many = Array.from({ length: 10 }, (_, i) => ({ ...history(), experimentId: `e${i}` }));
    many[9] = { ...long, experimentId: 'newest' };
    const bounded = historyTrainingRows(many, { maxRows: 12, maxRowsPerSegment: 8 });
    expect(bounded).toHaveLength(12);
    // The newest experiment's 8 rows are all kept, then the next-newest fill the rest.
    expect(bounded.slice(-8)).toEqual(experimentHistoryRows(many[9]!, { maxRowsPerSegment: 8 }));
  });

  it('groups stored CycleStats rows and skips malformed payloads', () => {
    const [h] = historiesFromCycleRows(
      [{ experimentId: 'x', alpha: 0.05, finished: true, horizonCycles: 20 }],
      [
        { experimentId: 'x', cycle: 1, step: 'predict', payload: { segments: [{ id: 1, features: feat(1, 500), prediction: {} }] } },
        { experimentId: 'x', cycle: 2, step: 'predict', payload: { segments: [{ id: 1, features: feat(2, 1000) }] } },
        { experimentId: 'x', cycle: 2, step: 'decide', payload: { outcome: 'continue', segmentDecisions: [{ segmentId: 1, adjustedPValue: 0.01, pValue: 0.002 }] } },
        { experimentId: 'x', cycle: 1, step: 'decide', payload: { outcome: 'continue', segmentDecisions: [{ segmentId: 1, adjustedPValue: null }] } },
        { experimentId: 'x', cycle: 3, step: 'collect', payload: { cells: [] } },
        { experimentId: 'y', cycle: 1, step: 'predict', payload: { segments: [] } },
        { experimentId: 'x', cycle: 4, step: 'predict', payload: null },
      ],
    );
    expect(h!.predict).toHaveLength(2);
    expect(h!.decide.map((d) => d.cycle).sort()).toEqual([1, 2]);
    expect(crossingCycles(h!).get(1)).toBe(2);
    expect(experimentHistoryRows(h!).map((r) => Math.round(Math.expm1(r.logSamples)))).toEqual([1000]);
  });
});

describe('tree features', () => {
  it('the analytic feature does not depend on the α the caller predicts for', () => {
    const f = feat(3, 2000);
    const a = predictTimeToSignificance(f, { model: COLD_START_MODEL, alpha: 0.05 });
    const b = predictTimeToSignificance(f, { model: COLD_START_MODEL, alpha: 0.0125 });
    expect(a.samples).toBe(b.samples);
    expect(a.analytic.remainingSamples).toBeLessThan(b.analytic.remainingSamples);
  });
});
