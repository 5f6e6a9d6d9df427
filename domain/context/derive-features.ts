/**
 * The derived features attached to an exposure's context when it is logged and seen by assignment:
 * time features in the experiment's zone plus the current value of every in-scope signal.
 * Derived names (`time.*`, `signal.*`) overwrite a client attribute of the same name, so a client
 * cannot forge them.
 */
import { signalFeatures, type ContextSignal } from './signals.js';
import { timeFeatures } from './time-features.js';

export interface DeriveInput {
  experimentKey: string;
  timeZone: string;
  context: Readonly<Record<string, unknown>>;
  /** The current signals (see `currentSignals`). */
  signals: readonly ContextSignal[];
  nowMs: number;
}

export function deriveContextFeatures(input: DeriveInput): Record<string, number> {
  return {
    ...timeFeatures(input.nowMs, input.timeZone),
    ...signalFeatures(input.signals, input.experimentKey, input.context, input.nowMs),
  };
}
