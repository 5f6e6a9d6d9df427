/** Practical significance: ship only if the whole interval of the relative lift clears the minimum. */
import { fmt, pct, type RuleNote } from './rule-note.js';

/** `relativeCi` in the metric's raw orientation; `direction` says which way is good. */
export function clearsMinimumLift(input: { arm: string; relativeCi: [number, number] | null; direction: 'increase' | 'decrease'; minLift: number }): { clears: boolean; note: RuleNote } {
  if (input.minLift <= 0) return { clears: true, note: { rule: 'practical-significance', rationale: `${input.arm}: no minimum lift configured` } };
  if (!input.relativeCi) return { clears: false, note: { rule: 'practical-significance', rationale: `${input.arm}: relative lift undefined (control mean 0)` } };
  const sign = input.direction === 'increase' ? 1 : -1;
  const goodLow = Math.min(sign * input.relativeCi[0], sign * input.relativeCi[1]);
  const clears = goodLow >= input.minLift;
  return {
    clears,
    note: {
      rule: 'practical-significance',
      rationale: `${input.arm}: lift interval's lower end ${pct(goodLow)} ${clears ? '≥' : '<'} minimum ${pct(input.minLift)}${clears ? '' : ` (gap ${fmt(100 * (input.minLift - goodLow))} points)`}`,
    },
  };
}
