/**
 * Every message an experiment workflow takes or answers, defined once: each signal's and update's
 * payload, each update's result and the status query's answer, as a zod schema and its type.
 * - workflows/experiment-messages.ts types the workflow's signals, updates and query with these
 *   types (type imports only: zod stays out of the deterministic workflow bundle);
 * - api/schemas.ts validates request bodies with these schemas, narrowed where a route asks for
 *   more (a stop needs a reason; the API fills in the actor);
 * - api/experiments-service.ts sends and receives them through the workflow's definitions.
 */
import { z } from 'zod';

const actor = z.string().min(1).max(200);
const reason = z.string().max(2000);
const weights = z.record(z.string(), z.number().min(0).max(1));
/** Weights as published (computed, so not re-checked against [0, 1] to the last ulp), per segment id. */
const publishedWeights = z.record(z.string(), z.record(z.string(), z.number()));
const phase = z.enum(['draft', 'running', 'paused', 'concluded', 'stopped']);
const outcome = z.enum(['continue', 'ship', 'stop_harm', 'stop_futility', 'inconclusive']);

// ---- signals ----

/** pause, resume and stop (and the runCycleNow update): who asks, and why. */
export const actorReasonMessage = z.object({ actor: actor.optional(), reason: reason.optional() });
export type ActorReason = z.infer<typeof actorReasonMessage>;

/** An external event that dampens test allocation; a reaction rule sends its own half-life. */
export const externalContextMessage = z.object({
  kind: z.string().min(1).max(100),
  severity: z.number().min(0).max(1),
  halfLifeSeconds: z.number().positive().optional(),
});
export type ExternalContextInput = z.infer<typeof externalContextMessage>;

// ---- updates: payloads ----

/** Sets a manual allocation (weights) or clears it (clear: true). */
export const overrideAllocationMessage = z.object({ weights: weights.optional(), clear: z.literal(true).optional(), actor: actor.optional(), reason: reason.optional() });
export type OverrideAllocationInput = z.infer<typeof overrideAllocationMessage>;

export const concludeMessage = z.object({ winner: z.string().min(1).max(40).optional(), actor: actor.optional(), reason: reason.optional() });
export type ConcludeInput = z.infer<typeof concludeMessage>;

/** Re-enabling an arm the circuit breaker stopped: who and why are required (audited). */
export const reenableArmMessage = z.object({
  arm: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'not a valid variant key'),
  actor,
  reason: reason.min(1),
});
export type ReenableArmInput = z.infer<typeof reenableArmMessage>;

/** Acknowledging a sample-ratio alarm lifts its hold on decisions (audited). */
export const acknowledgeSrmMessage = z.object({ actor, reason: reason.min(1) });
export type AcknowledgeSrmInput = z.infer<typeof acknowledgeSrmMessage>;

// ---- updates: results ----

const decisionSummary = z.object({ cycle: z.number().int(), outcome, winner: z.string().optional(), rationale: z.string() });

export const overrideAllocationResult = z.object({ version: z.number().int(), weights: publishedWeights });
export type OverrideAllocationResult = z.infer<typeof overrideAllocationResult>;

export const runCycleNowResult = z.object({ cycle: z.number().int(), decision: decisionSummary.nullable() });
export type RunCycleNowResult = z.infer<typeof runCycleNowResult>;

export const concludeResult = z.object({ phase: z.string(), winner: z.string().nullable() });
export type ConcludeResult = z.infer<typeof concludeResult>;

export const reenableArmResult = z.object({ arm: z.string(), effectiveFromCycle: z.number().int() });
export type ReenableArmResult = z.infer<typeof reenableArmResult>;

export const acknowledgeSrmResult = z.object({ effectiveFromCycle: z.number().int() });
export type AcknowledgeSrmResult = z.infer<typeof acknowledgeSrmResult>;

// ---- query ----

/** The status query's answer: the workflow's live view of the experiment. */
export const experimentStatus = z.object({
  experimentKey: z.string(),
  phase,
  cycle: z.number().int(),
  weights: publishedWeights,
  snapshotVersion: z.number().int(),
  lastDecision: decisionSummary.nullable(),
  nextCycleAt: z.string().nullable(),
  override: z.object({ weights, reason: z.string(), actor: z.string() }).nullable(),
  /** The last cycle that failed after its activity retries, if the experiment has not since recovered. */
  lastError: z.object({ cycle: z.number().int(), message: z.string(), at: z.string() }).nullable(),
  /** Waiting for in-flight handlers before continuing as new (new cycles are refused meanwhile). */
  draining: z.boolean(),
  /** External-context dampening in force now (0..1 of test traffic moved to control) and the events behind it. */
  dampening: z.object({
    factor: z.number(),
    events: z.array(z.object({ kind: z.string(), severity: z.number(), at: z.string(), halfLifeMs: z.number().optional() })),
  }),
  /** Arms the circuit breaker stopped (routed to control). */
  stoppedArms: z.array(z.string()),
  /** True while an unacknowledged sample-ratio alarm holds decisions. */
  srmAlarm: z.boolean(),
});
export type ExperimentStatus = z.infer<typeof experimentStatus>;
