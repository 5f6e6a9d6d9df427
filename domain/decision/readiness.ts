/**
 * Minimum runtime and minimum sample: no decision before the experiment has run long enough (whole
 * weeks optionally, so every weekday is represented) and every active arm has enough units.
 */
import { fmt, type RuleNote } from './rule-note.js';

const HOUR_MS = 3_600_000;
const WEEK_HOURS = 7 * 24;

/** Hours of runtime required: the minimum, rounded up to whole weeks (at least one) when asked. */
export function requiredRuntimeHours(minRuntimeHours: number, wholeWeeks: boolean): number {
  if (!wholeWeeks) return minRuntimeHours;
  return Math.max(1, Math.ceil(minRuntimeHours / WEEK_HOURS)) * WEEK_HOURS;
}

export interface Readiness {
  /** Enough units in every active arm (any decision or alert may be made). */
  sampleReached: boolean;
  /** Long enough (terminal decisions — ship, inconclusive — may be made). */
  runtimeReached: boolean;
  smallestArm: number;
  note: RuleNote;
}

/** Readiness of one look. `armUnits`: units per active arm (control included) on the primary metric. */
export function checkReadiness(input: { armUnits: Record<string, number>; minSamplePerArm: number; minRuntimeHours: number; wholeWeeks: boolean; startedAt: number; now: number }): Readiness {
  const counts = Object.entries(input.armUnits);
  const smallest = counts.length ? Math.min(...counts.map(([, n]) => n)) : 0;
  const smallestArm = counts.find(([, n]) => n === smallest)?.[0] ?? '-';
  const requiredH = requiredRuntimeHours(input.minRuntimeHours, input.wholeWeeks);
  const ranH = Math.max(0, (input.now - input.startedAt) / HOUR_MS);
  const sampleReached = smallest >= input.minSamplePerArm;
  const runtimeReached = ranH >= requiredH;
  const parts = [
    sampleReached ? `every arm has ≥ ${input.minSamplePerArm} units` : `waiting for ${input.minSamplePerArm} units per arm (smallest arm ${smallestArm} has ${smallest})`,
    requiredH === 0 ? null : runtimeReached ? `ran ${fmt(ranH)} h ≥ ${requiredH} h` : `ran ${fmt(ranH)} h of the ${requiredH} h minimum runtime${input.wholeWeeks ? ' (whole weeks)' : ''}`,
  ].filter((p): p is string => p !== null);
  return { sampleReached, runtimeReached, smallestArm: smallest, note: { rule: 'readiness', rationale: parts.join('; ') } };
}
