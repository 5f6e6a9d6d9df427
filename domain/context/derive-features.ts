/**
 * The derived features attached to an exposure's context when it is logged and seen by assignment:
 * time features in the experiment's zone plus the current value of every in-scope signal.
 * Client attributes named `time.*` or `signal.*` are dropped, so a client cannot forge them.
 */
import { writeSignalFeatures, type PreparedSignal } from './signals.js';
import { timeFeatures } from './time-features.js';

export interface DeriveInput<V> {
  experimentKey: string;
  timeZone: string;
  context: Readonly<Record<string, V>>;
  /** The current signals, prepared (see `prepareSignals`). */
  signals: readonly PreparedSignal[];
  nowMs: number;
}

/** The context plus its derived features, as one new object (the input is not modified). */
export function withDerivedFeatures<V>(input: DeriveInput<V>): Record<string, V | number> {
  const out: Record<string, V | number> = {};
  for (const [k, v] of Object.entries(input.context)) if (!k.startsWith('signal.') && !k.startsWith('time.')) out[k] = v;
  const t = timeFeatures(input.nowMs, input.timeZone);
  out['time.hourOfDay'] = t['time.hourOfDay'];
  out['time.dayOfWeek'] = t['time.dayOfWeek'];
  writeSignalFeatures(out, input.signals, input.experimentKey, input.context, input.nowMs);
  return out;
}
