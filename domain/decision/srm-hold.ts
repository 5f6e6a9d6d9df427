/**
 * The sample-ratio veto. A mismatch between the observed arm counts and those the weights imply
 * means the assignment or logging is broken and the data cannot be trusted: decisions are held until
 * the alarm clears or an operator acknowledges it. Harm protection (arm stops, roll back) still acts,
 * since routing traffic to control is safe whatever broke.
 */
import type { SampleRatioCheck } from '../stats/srm.js';
import { fmt, type RuleNote } from './rule-note.js';

export interface SrmAcknowledgement {
  actor: string;
  reason: string;
}

export interface SrmHold {
  /** True while decisions other than harm protection must wait. */
  hold: boolean;
  note: RuleNote;
}

export function holdForSampleRatio(srm: Pick<SampleRatioCheck, 'alarm' | 'pValue' | 'threshold'>, acknowledged: SrmAcknowledgement | null): SrmHold {
  if (!srm.alarm) return { hold: false, note: { rule: 'srm', rationale: `sample ratio ok (p=${fmt(srm.pValue)} ≥ ${srm.threshold})` } };
  if (acknowledged) {
    return { hold: false, note: { rule: 'srm', rationale: `sample-ratio mismatch (p=${fmt(srm.pValue)} < ${srm.threshold}) acknowledged by ${acknowledged.actor}: ${acknowledged.reason}` } };
  }
  return { hold: true, note: { rule: 'srm', rationale: `sample-ratio mismatch (p=${fmt(srm.pValue)} < ${srm.threshold}): decisions held until it clears or is acknowledged` } };
}
