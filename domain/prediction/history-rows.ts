/**
 * Training rows for the time-to-significance tree from what the cycle loop already stores: the
 * 'predict' step's per-segment features and the 'decide' step's segment decisions, per experiment
 * and cycle. Pure: the caller loads the payloads (activities/predict.ts), this turns them into rows.
 *
 * Label, precisely. For experiment e and segment s:
 *   - the *crossing cycle* c*(e, s) is the first cycle c whose 'decide' payload has, for segment s,
 *     some arm with Holm-adjusted always-valid p-value (`adjustedPValue`, adjusted across segments ×
 *     arms, computed from the running minimum of the always-valid p) ≤ the experiment's α — i.e. the
 *     first look at which the segment-level decision was not 'none', in either direction. For an
 *     unsegmented experiment (`segmentDecisions` empty) the only segment is the catch-all, and its
 *     crossing is the first cycle whose experiment-level outcome was 'ship' or 'stop_harm' (the
 *     experiment-level always-valid p fell below α after Holm across arms × metrics). The adjusted p
 *     is used, not the raw one, because it is the significance the system acts on and what the
 *     cold-start simulations model (mSPRT at α/K).
 *   - the *sample clock* of a segment at cycle c is samplesPerArm(c) × arms(c) from the 'predict'
 *     payload (smallest arm × number of arms: the total for balanced allocation, and what limits the
 *     test otherwise); the stored payloads carry no other per-segment total.
 *   - every cycle c < c*(e, s) at which s was predicted gives one row: the tree features of s at c →
 *     log1p(clock(c*) − clock(c)), the samples it still needed (all arms). Rows with no progress left
 *     (≤ 0) are dropped; cycles ≥ c* are not rows (the segment was already decided).
 *   - segments that never crossed give no rows unless `censored` is on and the experiment is
 *     finished; then each cycle gives log1p(f × max(clock(last) − clock(c), accrual × (horizon − c),
 *     accrual)) with f = `censoredFactor` (default 1): the samples to the horizon, a lower bound on
 *     what the segment needed since it never crossed (the cold-start simulator uses the same default). The horizon (not the last stored cycle)
 *     matters: a segment the budget rule ended early would otherwise teach the tree that segments
 *     like it were nearly done.
 * Rows are bounded: at most `maxRowsPerSegment` per (experiment, segment), spread evenly over its
 * cycles (consecutive cycles of one segment are nearly duplicates), and at most `maxRows` in all,
 * keeping the most recent experiments (input order is oldest first).
 */
import { at } from '../at.js';
import type { SegmentPredictionFeatures } from './power-baseline.js';
import { ttsigFeatures, type TtsigTrainingRow } from './tree-model.js';

/** The parts of a stored 'predict' payload this needs. */
export interface StoredPredictCycle {
  cycle: number;
  segments: Array<{ id: number; features: SegmentPredictionFeatures }>;
}

/** The parts of a stored 'decide' payload this needs. */
export interface StoredDecideCycle {
  cycle: number;
  outcome: string;
  segmentDecisions: Array<{ segmentId: number; adjustedPValue: number | null; outcome?: string }>;
}

/** One experiment's stored cycles. */
export interface ExperimentHistory {
  experimentId: string;
  alpha: number;
  predict: StoredPredictCycle[];
  decide: StoredDecideCycle[];
  /** No more cycles will come (needed for censored rows). */
  finished?: boolean;
  /** The experiment's planned horizon in cycles (config.maxCycles), for censored rows. */
  horizonCycles?: number;
}

export interface HistoryRowOptions {
  /** Total rows kept (most recent experiments first). Default 2000. */
  maxRows?: number;
  /** Rows per (experiment, segment). Default 8. */
  maxRowsPerSegment?: number;
  /** Add right-censored rows from finished experiments. Default false. */
  censored?: boolean;
  /** Multiplier of the censored stand-in (remaining samples to the horizon). Default 1: the label is then the lower bound itself; 3 (the cold-start simulator's factor) made null-looking leaves so slow that the budget rule ended the helped segment in ~40% of bench runs. */
  censoredFactor?: number;
}

/** Experiment-level outcomes that mean the experiment-level always-valid p crossed α. */
const CROSSING_OUTCOMES = new Set(['ship', 'stop_harm']);

/** First crossing cycle per segment id (see the module comment for the definition). */
export function crossingCycles(h: ExperimentHistory): Map<number, number> {
  const out = new Map<number, number>();
  const decide = [...h.decide].sort((a, b) => a.cycle - b.cycle);
  for (const d of decide) {
    if (d.segmentDecisions.length === 0) {
      if (CROSSING_OUTCOMES.has(d.outcome) && !out.has(0)) out.set(0, d.cycle);
      continue;
    }
    for (const s of d.segmentDecisions) {
      if (out.has(s.segmentId)) continue;
      if (s.adjustedPValue !== null && Number.isFinite(s.adjustedPValue) && s.adjustedPValue <= h.alpha) out.set(s.segmentId, d.cycle);
    }
  }
  return out;
}

const clock = (f: SegmentPredictionFeatures) => Math.max(0, f.samplesPerArm) * (f.arms ?? 2);

/** Evenly spread pick of at most k items, always including the first. */
function spread<T>(items: T[], k: number): T[] {
  if (items.length <= k) return items;
  const picked: T[] = [];
  for (let i = 0; i < k; i++) picked.push(at(items, Math.floor((i * items.length) / k), 'items'));
  return picked;
}

/** Labelled rows from one experiment (unbounded in total; bounded per segment). */
export function experimentHistoryRows(h: ExperimentHistory, options: HistoryRowOptions = {}): TtsigTrainingRow[] {
  const perSegment = options.maxRowsPerSegment ?? 8;
  const crossings = crossingCycles(h);
  const predict = [...h.predict].sort((a, b) => a.cycle - b.cycle);
  const bySegment = new Map<number, Array<{ cycle: number; f: SegmentPredictionFeatures }>>();
  for (const p of predict) {
    for (const s of p.segments) {
      if (!s.features || !validFeatures(s.features)) continue;
      const list = bySegment.get(s.id) ?? [];
      list.push({ cycle: p.cycle, f: s.features });
      bySegment.set(s.id, list);
    }
  }
  const rows: TtsigTrainingRow[] = [];
  for (const [id, points] of bySegment) {
    const crossedAt = crossings.get(id);
    let candidates: Array<{ f: SegmentPredictionFeatures; remaining: number }>;
    if (crossedAt !== undefined) {
      const end = points.find((p) => p.cycle === crossedAt) ?? points.filter((p) => p.cycle <= crossedAt).at(-1);
      if (!end) continue;
      const endClock = clock(end.f);
      candidates = points.filter((p) => p.cycle < crossedAt).map((p) => ({ f: p.f, remaining: endClock - clock(p.f) }));
    } else if (options.censored && h.finished) {
      const last = points.at(-1)!;
      const lastClock = clock(last.f);
      const horizon = h.horizonCycles ?? last.cycle;
      candidates = points.map((p) => ({
        f: p.f,
        remaining: (options.censoredFactor ?? 1) * Math.max(lastClock - clock(p.f), p.f.accrualPerCycle * (horizon - p.cycle), p.f.accrualPerCycle),
      }));
    } else {
      continue;
    }
    for (const c of spread(candidates.filter((x) => x.remaining > 0), perSegment)) {
      rows.push({ features: ttsigFeatures(c.f), logSamples: Math.log1p(c.remaining) });
    }
  }
  return rows;
}

/** Labelled rows from many experiments (oldest first), keeping at most `maxRows`, the most recent. */
export function historyTrainingRows(histories: ExperimentHistory[], options: HistoryRowOptions = {}): TtsigTrainingRow[] {
  const maxRows = options.maxRows ?? 2000;
  const out: TtsigTrainingRow[][] = [];
  let total = 0;
  for (const history of [...histories].reverse()) {
    if (total >= maxRows) break;
    const rows = experimentHistoryRows(history, options);
    const take = rows.slice(0, maxRows - total);
    out.push(take);
    total += take.length;
  }
  return out.reverse().flat();
}

function validFeatures(f: SegmentPredictionFeatures): boolean {
  return [f.size, f.accrualPerCycle, f.baselineRate, f.observedEffect, f.variance, f.cyclesElapsed, f.samplesPerArm].every(
    (x) => typeof x === 'number' && Number.isFinite(x),
  );
}

/** One stored CycleStats row as loaded (payload still untyped JSON). */
export interface StoredCycleRow {
  experimentId: string;
  cycle: number;
  step: string;
  payload: unknown;
}

/** What the loader knows about each experiment besides its cycle rows. */
export interface ExperimentHistoryMeta {
  experimentId: string;
  alpha: number;
  horizonCycles?: number;
  finished?: boolean;
}

const FINISHED = new Set(['concluded', 'stopped']);

/** What the history needs of a stored experiment: alpha and horizon from its config, and whether it ended (the current one has not). */
export function historyMetaOf(e: { id: string; status: string; config: unknown }, currentId: string): ExperimentHistoryMeta {
  const c = (e.config ?? {}) as { alpha?: unknown; maxCycles?: unknown };
  return {
    experimentId: e.id,
    alpha: typeof c.alpha === 'number' ? c.alpha : 0.05,
    horizonCycles: typeof c.maxCycles === 'number' ? c.maxCycles : undefined,
    finished: e.id !== currentId && FINISHED.has(e.status),
  };
}

/**
 * Groups stored 'predict' and 'decide' rows into histories, in the order of `experiments` (oldest
 * first). Malformed payloads are skipped rather than trusted: history is advisory input.
 */
export function historiesFromCycleRows(experiments: ExperimentHistoryMeta[], rows: StoredCycleRow[]): ExperimentHistory[] {
  const byId = new Map<string, ExperimentHistory>(
    experiments.map((e) => [e.experimentId, { experimentId: e.experimentId, alpha: e.alpha, horizonCycles: e.horizonCycles, finished: e.finished, predict: [], decide: [] }]),
  );
  for (const r of rows) {
    const h = byId.get(r.experimentId);
    if (!h || !r.payload || typeof r.payload !== 'object') continue;
    const p = r.payload as Record<string, unknown>;
    if (r.step === 'predict' && Array.isArray(p.segments)) {
      const segments = (p.segments as Array<Record<string, unknown>>)
        .filter((s) => typeof s?.id === 'number' && s.features && typeof s.features === 'object')
        .map((s) => ({ id: s.id as number, features: s.features as SegmentPredictionFeatures }));
      h.predict.push({ cycle: r.cycle, segments });
    } else if (r.step === 'decide' && typeof p.outcome === 'string') {
      const decisions = Array.isArray(p.segmentDecisions) ? (p.segmentDecisions as Array<Record<string, unknown>>) : [];
      h.decide.push({
        cycle: r.cycle,
        outcome: p.outcome,
        segmentDecisions: decisions
          .filter((s) => typeof s?.segmentId === 'number')
          .map((s) => ({ segmentId: s.segmentId as number, adjustedPValue: typeof s.adjustedPValue === 'number' ? s.adjustedPValue : null })),
      });
    }
  }
  return experiments.map((e) => byId.get(e.experimentId)!);
}
