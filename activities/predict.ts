/**
 * Step 3: predict each segment's remaining samples and cycles to significance: a regression tree
 * retrained every cycle on history — labelled rows from earlier cycles of this and other
 * experiments whose segments later crossed significance (domain/prediction/history-rows.ts defines
 * the label) — falling back to the cold-start model (simulated experiments) while fewer than
 * HISTORY_MIN_ROWS labelled rows exist. The power formula is the tree's baseline feature.
 * Idempotent: the output is stored once per cycle; a retry returns it without retraining.
 */
import { poolByVariant, unitsBySegment } from '../domain/experiment/cells.js';
import { controlVariant } from '../domain/experiment/snapshot.js';
import { COLD_START_MODEL } from '../domain/prediction/cold-start.js';
import { historiesFromCycleRows, historyMetaOf, historyTrainingRows } from '../domain/prediction/history-rows.js';
import { predictionFeatures } from '../domain/prediction/segment-features.js';
import type { SegmentPredictionFeatures } from '../domain/prediction/power-baseline.js';
import { predictTimeToSignificance, trainSignificanceTree, type SignificancePrediction, type TtsigModel } from '../domain/prediction/tree-model.js';
import { loadExperiment } from '../infra/experiment-repo.js';
import { latestSnapshot } from '../infra/snapshot-writer.js';
import { loadCycleHistory, readPreviousStep, readStep, writeStepOnce } from '../infra/cycle-store.js';
import { collectPayloadSchema, predictPayloadSchema, segmentPayloadSchema } from './step-payloads.js';
import type { ActivityDeps, CycleRef } from './deps.js';

export interface PredictPayload {
  segments: Array<{ id: number; features: SegmentPredictionFeatures; prediction: SignificancePrediction }>;
  /** Which tree made the predictions: retrained on `rows` history rows, or the cold-start one. */
  model?: { source: 'history' | 'cold-start'; rows: number; experiments: number };
}

/** Training rows at most (ml-cart's cost grows with rows²; ~0.5 s at 2000). */
const HISTORY_MAX_ROWS = 2000;
/** Below this many labelled rows the cold-start tree is used. */
const HISTORY_MIN_ROWS = 200;
/** Most recent experiments (with a stored decision) read for history, and stored rows read at most. */
const HISTORY_EXPERIMENTS = 50;
const HISTORY_MAX_CYCLE_ROWS = 20_000;

export function predictSignificance(d: ActivityDeps) {
  return async ({ experimentKey, cycle }: CycleRef): Promise<{ segments: Array<{ id: number; cycles: number; capped: boolean; source: string }> }> => {
    const exp = await loadExperiment(d.prisma, experimentKey);
    const stepRef = { prisma: d.prisma, experimentId: exp.id, cycle };
    const summary = (p: PredictPayload) => ({
      segments: p.segments.map((s) => ({ id: s.id, cycles: round(s.prediction.cycles), capped: s.prediction.capped, source: s.prediction.source })),
    });
    const done = await readStep(stepRef, 'predict', predictPayloadSchema);
    if (done) return summary(done);
    const collected = await readStep(stepRef, 'collect', collectPayloadSchema);
    const segmented = await readStep(stepRef, 'segment', segmentPayloadSchema);
    if (!collected || !segmented) throw new Error(`cycle ${cycle}: collect and segment must run before predict`);
    const previous = await readPreviousStep(stepRef, 'collect', collectPayloadSchema);

    const { config } = exp.def;
    const primary = config.metrics.find((m) => m.role === 'primary')!;
    const variants = exp.def.variants.map((v) => v.key);
    const control = controlVariant(exp.def);
    const nowUnits = unitsBySegment(collected.cells, primary.key);
    const prevUnits = previous ? unitsBySegment(previous.payload.cells, primary.key) : new Map<number, number>();
    const cyclesSincePrev = previous ? Math.max(1, cycle - previous.cycle) : Math.max(1, cycle);

    const trained = await historyModel(d, exp.id, cycle);
    // Accrual is observed at the coverage served since the last cycle; predictions are made at full
    // coverage, so a throttled segment does not look slow merely because it was throttled.
    const served = new Map((await latestSnapshot(d.prisma, exp.id))?.segments.map((s) => [s.id, s.coverage]) ?? []);
    const segments = segmented.segments.map((s) => {
      const arms = poolByVariant(collected.cells, primary.key, variants, s.id);
      const observed = Math.max(0, (nowUnits.get(s.id) ?? 0) - (prevUnits.get(s.id) ?? 0)) / cyclesSincePrev;
      const coverage = served.get(s.id) ?? 1;
      const features = predictionFeatures(arms, control, {
        size: Math.max(s.size, nowUnits.get(s.id) ?? 0),
        accrualPerCycle: coverage > 0.01 ? observed / coverage : observed,
        cyclesElapsed: cycle,
      });
      return { id: s.id, features, prediction: predictTimeToSignificance(features, { alpha: config.alpha, model: trained.model }) };
    });
    return summary(await writeStepOnce(stepRef, 'predict', predictPayloadSchema, { segments, model: trained.info }));
  };
}

/**
 * Loads stored 'predict'/'decide' payloads of the most recent experiments (this one only before
 * `cycle`) and trains the tree on their labelled rows; the cold-start model when too few.
 */
async function historyModel(d: ActivityDeps, experimentId: string, cycle: number): Promise<{ model: TtsigModel; info: NonNullable<PredictPayload['model']> }> {
  const { experiments, rows: stored } = await loadCycleHistory(d.prisma, { experimentId, cycle }, { experiments: HISTORY_EXPERIMENTS, maxRows: HISTORY_MAX_CYCLE_ROWS });
  const cold = { model: COLD_START_MODEL, info: { source: 'cold-start' as const, rows: 0, experiments: experiments.length } };
  if (!experiments.length) return cold;
  const meta = experiments.reverse().map((e) => historyMetaOf(e, experimentId));
  const rows = historyTrainingRows(historiesFromCycleRows(meta, stored), { maxRows: HISTORY_MAX_ROWS, censored: true });
  if (rows.length < HISTORY_MIN_ROWS) return { ...cold, info: { ...cold.info, rows: rows.length } };
  const model = trainSignificanceTree(rows, { maxRows: HISTORY_MAX_ROWS, seed: cycle });
  return { model, info: { source: 'history', rows: rows.length, experiments: experiments.length } };
}

const round = (x: number) => (Number.isFinite(x) ? Math.round(x * 100) / 100 : -1);
