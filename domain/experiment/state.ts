/**
 * The experiment workflow's state as a small reducer. Every signal and update handler calls one of
 * these functions; continue-as-new carries the result, which is plain JSON.
 */
import type { ExperimentPhase, Weights } from '../types.js';

export type DecisionOutcome = 'continue' | 'ship' | 'stop_harm' | 'stop_futility' | 'inconclusive';

export interface DecisionSummary {
  cycle: number;
  outcome: DecisionOutcome;
  winner?: string;
  rationale: string;
}

export interface AllocationOverride {
  weights: Weights;
  reason: string;
  actor: string;
}

export interface ExternalContextEvent {
  kind: string;
  /** 0..1: how strongly to dampen test allocation right after the event. */
  severity: number;
  at: string;
  /** Set by reaction rules: this event's own half-life; absent = the experiment's. */
  halfLifeMs?: number;
}

export interface ExperimentState {
  phase: ExperimentPhase;
  cycle: number;
  /** Weights per segment id, as last published. */
  weights: Record<string, Weights>;
  snapshotVersion: number;
  lastDecision?: DecisionSummary;
  override?: AllocationOverride;
  overridesApplied: number;
  bounds?: { floor: number; max: number; maxChange: number };
  externalEvents: ExternalContextEvent[];
  stopReason?: string;
  winner?: string;
  /** Phase changes persisted so far; numbers each one so its snapshot and audit entry are unique. */
  phaseChanges?: number;
  /** The most recent cycle that failed after its activity retries; cleared by the next success. */
  lastError?: { cycle: number; message: string; at: string };
  /** Arms the circuit breaker stopped, as of the last decision (re-enable requests are checked against it). */
  stoppedArms?: string[];
  /** An unacknowledged sample-ratio alarm is in force. */
  srmAlarm?: boolean;
  /** Operator actions (re-enable, acknowledge) taken so far; numbers each one for idempotency. */
  operatorActions?: number;
}

export function initialState(): ExperimentState {
  return { phase: 'running', cycle: 0, weights: {}, snapshotVersion: 0, overridesApplied: 0, externalEvents: [] };
}

/** True once the experiment can no longer run cycles. */
export function isFinished(s: ExperimentState): boolean {
  return s.phase === 'concluded' || s.phase === 'stopped';
}

export function applyPause(s: ExperimentState): ExperimentState {
  return s.phase === 'running' ? { ...s, phase: 'paused' } : s;
}

export function applyResume(s: ExperimentState): ExperimentState {
  return s.phase === 'paused' ? { ...s, phase: 'running' } : s;
}

export function applyStop(s: ExperimentState, reason: string): ExperimentState {
  return isFinished(s) ? s : { ...s, phase: 'stopped', stopReason: reason };
}

export function applyConclude(s: ExperimentState, winner: string | undefined, reason: string): ExperimentState {
  return isFinished(s) ? s : { ...s, phase: 'concluded', winner, stopReason: reason };
}

export function applyCycleResult(
  s: ExperimentState,
  r: { cycle: number; weights: Record<string, Weights>; snapshotVersion: number; decision: DecisionSummary },
): ExperimentState {
  const { lastError: _recovered, ...rest } = s;
  const next: ExperimentState = { ...rest, cycle: r.cycle, weights: r.weights, snapshotVersion: r.snapshotVersion, lastDecision: r.decision };
  if (r.decision.outcome === 'continue' || isFinished(s)) return next;
  return { ...next, phase: 'concluded', winner: r.decision.winner, stopReason: r.decision.rationale };
}

/** A cycle that failed after its retries: remembered for the status query, retried next interval. */
export function applyCycleFailure(s: ExperimentState, cycle: number, message: string, at: string): ExperimentState {
  return { ...s, lastError: { cycle, message: message.slice(0, 500), at } };
}

export function applyOverride(s: ExperimentState, o: AllocationOverride | undefined): ExperimentState {
  return { ...s, override: o, overridesApplied: s.overridesApplied + 1 };
}

/** Keeps only the events that still matter: older than 20 half-lives they weigh under 1e-6. */
export function applyExternalEvent(s: ExperimentState, e: ExternalContextEvent, nowMs: number, halfLifeMs: number): ExperimentState {
  const kept = s.externalEvents.filter((x) => Date.parse(x.at) >= nowMs - 20 * (x.halfLifeMs ?? halfLifeMs)).slice(-49);
  return { ...s, externalEvents: [...kept, e] };
}

/** Validates a manual allocation override against the experiment's variants; returns a reason or null. */
export function validateWeights(weights: Weights, variants: string[]): string | null {
  const keys = Object.keys(weights);
  const unknown = keys.filter((k) => !variants.includes(k));
  if (unknown.length) return `weights: unknown variant(s) ${unknown.join(', ')}`;
  const missing = variants.filter((v) => !(v in weights));
  if (missing.length) return `weights: missing variant(s) ${missing.join(', ')}`;
  for (const k of keys) {
    const w = weights[k];
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0 || w > 1) return `weights.${k}: must be a number in [0, 1]`;
  }
  const total = Object.values(weights).reduce((a, w) => a + w, 0);
  if (Math.abs(total - 1) > 1e-6) return `weights: must sum to 1 (got ${total.toFixed(6)})`;
  return null;
}
