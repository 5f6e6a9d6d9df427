/**
 * Step 3: predict each segment's remaining samples and cycles to significance: the regression tree
 * (cold-start model trained on simulated experiments) with the power formula as baseline/fallback.
 */
import { poolByVariant, unitsBySegment } from '../domain/experiment/cells.js';
import { controlVariant } from '../domain/experiment/snapshot.js';
import { COLD_START_MODEL } from '../domain/prediction/cold-start.js';
import { predictTimeToSignificance, type SignificancePrediction } from '../domain/prediction/tree-model.js';
import type { SegmentPredictionFeatures } from '../domain/prediction/power-baseline.js';
import { loadExperiment } from '../infra/experiment-repo.js';
import type { CollectPayload } from './collect.js';
import { readPreviousStep, readStep, writeStepOnce } from './cycle-store.js';
import type { ActivityDeps, CycleRef } from './deps.js';
import type { SegmentPayload } from './segment.js';

export interface PredictPayload {
  segments: Array<{ id: number; features: SegmentPredictionFeatures; prediction: SignificancePrediction }>;
}

export function predictSignificance(d: ActivityDeps) {
  return async ({ experimentKey, cycle }: CycleRef): Promise<{ segments: Array<{ id: number; cycles: number; capped: boolean; source: string }> }> => {
    const exp = await loadExperiment(d.prisma, experimentKey);
    const summary = (p: PredictPayload) => ({
      segments: p.segments.map((s) => ({ id: s.id, cycles: round(s.prediction.cycles), capped: s.prediction.capped, source: s.prediction.source })),
    });
    const done = await readStep<PredictPayload>(d.prisma, exp.id, cycle, 'predict');
    if (done) return summary(done);
    const collected = await readStep<CollectPayload>(d.prisma, exp.id, cycle, 'collect');
    const segmented = await readStep<SegmentPayload>(d.prisma, exp.id, cycle, 'segment');
    if (!collected || !segmented) throw new Error(`cycle ${cycle}: collect and segment must run before predict`);
    const previous = await readPreviousStep<CollectPayload>(d.prisma, exp.id, cycle, 'collect');

    const { config } = exp.def;
    const primary = config.metrics.find((m) => m.role === 'primary')!;
    const variants = exp.def.variants.map((v) => v.key);
    const control = controlVariant(exp.def);
    const nowUnits = unitsBySegment(collected.cells, primary.key);
    const prevUnits = previous ? unitsBySegment(previous.payload.cells, primary.key) : new Map<number, number>();
    const cyclesSincePrev = previous ? Math.max(1, cycle - previous.cycle) : Math.max(1, cycle);

    const segments = segmented.segments.map((s) => {
      const arms = poolByVariant(collected.cells, primary.key, variants, s.id);
      const features = predictionFeatures(arms, control, {
        size: Math.max(s.size, nowUnits.get(s.id) ?? 0),
        accrualPerCycle: Math.max(0, (nowUnits.get(s.id) ?? 0) - (prevUnits.get(s.id) ?? 0)) / cyclesSincePrev,
        cyclesElapsed: cycle,
      });
      return { id: s.id, features, prediction: predictTimeToSignificance(features, { alpha: config.alpha, model: COLD_START_MODEL }) };
    });
    return summary(await writeStepOnce(d.prisma, exp.id, cycle, 'predict', { segments }));
  };
}

/** Plug-in features: control mean, the largest |treatment − control| difference, pooled variance. */
function predictionFeatures(
  arms: Record<string, { n: number; sum: number; sumSquares: number }>,
  control: string,
  base: { size: number; accrualPerCycle: number; cyclesElapsed: number },
): SegmentPredictionFeatures {
  const mean = (m: { n: number; sum: number }) => (m.n > 0 ? m.sum / m.n : 0);
  const c = arms[control]!;
  let effect = 0;
  let totalN = 0;
  let ss = 0;
  let minN = Infinity;
  for (const [k, m] of Object.entries(arms)) {
    minN = Math.min(minN, m.n);
    if (m.n > 1) {
      ss += m.sumSquares - (m.sum * m.sum) / m.n;
      totalN += m.n - 1;
    }
    if (k !== control && Math.abs(mean(m) - mean(c)) > Math.abs(effect)) effect = mean(m) - mean(c);
  }
  return {
    ...base,
    baselineRate: mean(c),
    observedEffect: effect,
    variance: totalN > 0 ? Math.max(0, ss / totalN) : 0,
    samplesPerArm: Number.isFinite(minN) ? minN : 0,
    arms: Object.keys(arms).length,
  };
}

const round = (x: number) => (Number.isFinite(x) ? Math.round(x * 100) / 100 : -1);
