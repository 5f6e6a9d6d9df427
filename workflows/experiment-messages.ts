/**
 * The experiment workflow's signals, updates and status query: their names and types. Each payload
 * is defined once, with its zod schema, in domain/experiment/messages.ts; it is imported here as a
 * type only, so zod stays out of the workflow bundle.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  AcknowledgeSrmInput,
  AcknowledgeSrmResult,
  ActorReason,
  ConcludeInput,
  ConcludeResult,
  ExperimentStatus,
  ExternalContextInput,
  OverrideAllocationInput,
  OverrideAllocationResult,
  ReenableArmInput,
  ReenableArmResult,
  RunCycleNowResult,
} from '../domain/experiment/messages.js';

export const pauseSignal = defineSignal<[ActorReason]>('pause');
export const resumeSignal = defineSignal<[ActorReason]>('resume');
export const stopSignal = defineSignal<[ActorReason]>('stop');
/** From the manual endpoint or a reaction rule; a rule sends its own half-life. */
export const externalContextSignal = defineSignal<[ExternalContextInput]>('externalContext');

export const overrideAllocationUpdate = defineUpdate<OverrideAllocationResult, [OverrideAllocationInput]>('overrideAllocation');
export const runCycleNowUpdate = defineUpdate<RunCycleNowResult, [ActorReason]>('runCycleNow');
export const concludeUpdate = defineUpdate<ConcludeResult, [ConcludeInput]>('conclude');
export const reenableArmUpdate = defineUpdate<ReenableArmResult, [ReenableArmInput]>('reenableArm');
export const acknowledgeSrmUpdate = defineUpdate<AcknowledgeSrmResult, [AcknowledgeSrmInput]>('acknowledgeSrm');

export const statusQuery = defineQuery<ExperimentStatus>('status');
