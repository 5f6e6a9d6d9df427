/**
 * ExperimentWorkflow: one per experiment (id `experiment-<key>`). Each cycle runs the durable steps
 * collect → segment → predict → reallocate → throttle/terminate → decide → notify, then sleeps for
 * the cycle interval; a signal or update can cut the sleep short. This file is the cycle loop; the
 * state and its signal, update and query handlers are the entity beside it (experiment-entity.ts),
 * and the messages' names and types are in experiment-messages.ts. Deterministic orchestration
 * only: all arithmetic runs in activities.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  type ActivityOptions,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { CycleResult } from '../activities/run-cycle.js';
import { isoAt, workflowNow } from './clock.js';
import { applyConclude, applyCycleFailure, applyCycleResult, applyOverride, applyStop, isFinished, type DecisionSummary, type ExperimentState } from '../domain/experiment/state.js';
import { ExperimentEntity } from './experiment-entity.js';

export interface ExperimentWorkflowInput {
  experimentKey: string;
  kind: 'ab' | 'multi_arm' | 'model_comparison';
  variants: string[];
  cycleIntervalMs: number;
  maxCycles: number;
  continueAsNewEvery: number;
  dampeningHalfLifeMs?: number;
  /**
   * Task queue for the cycle's CPU-heavy work, so an analytics worker pool can scale apart from the
   * workflows: the runCycle activity (per-cycle), or segment, predict and reallocate (per-step).
   * Default: the workflow's own queue.
   */
  analyticsTaskQueue?: string;
  /**
   * How a cycle's six steps reach the worker. 'per-cycle' (the default): one runCycle activity, on
   * the analytics queue when one is set; each step still stores its output once, so a retry resumes
   * at the first missing step. Two workflow tasks a cycle. 'per-step': one activity per step (seven
   * workflow tasks a cycle), with each step's timing and retries visible in Temporal's UI.
   */
  cycleActivities?: 'per-cycle' | 'per-step';
  /** Present after continue-as-new. */
  state?: ExperimentState;
}

const activityOptions: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  // Activities heartbeat every second (worker.ts); a dead worker's activity is retried after this.
  // Activity options are not compared on replay, so saved histories still replay.
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10, nonRetryableErrorTypes: ['InvalidConfig'] },
};
const steps = proxyActivities<Activities>(activityOptions);

export async function experimentWorkflow(input: ExperimentWorkflowInput): Promise<ExperimentState> {
  const entity = new ExperimentEntity(input, steps);
  let cyclesThisRun = 0;
  const analytics = input.analyticsTaskQueue ? proxyActivities<Activities>({ ...activityOptions, taskQueue: input.analyticsTaskQueue }) : steps;
  entity.install();

  entity.publishStatus();

  while (!isFinished(entity.state)) {
    await entity.flushPhaseChanges();
    if (entity.state.phase === 'paused') {
      await condition(() => entity.state.phase !== 'paused' || entity.pendingPhaseChanges.length > 0);
      continue;
    }
    if (entity.state.cycle >= input.maxCycles) {
      const reason = `reached maxCycles (${input.maxCycles}) without a decision`;
      entity.state = applyConclude(entity.state, undefined, reason);
      entity.notePhaseChange('expflow', entity.state.stopReason ?? reason);
      break;
    }

    try {
      await runCycle();
    } catch (err) {
      // An activity that exhausted its retries must not end the experiment: record the failure and
      // retry the same cycle (its finished steps return their stored output) at the next interval.
      if (!(err instanceof ActivityFailure)) throw err;
      const cause = err.cause instanceof ApplicationFailure ? err.cause : null;
      if (cause?.type === 'InvalidConfig') {
        const reason = `invalid configuration: ${cause.message}`;
        entity.state = applyStop(entity.state, reason);
        // A stop that arrived mid-cycle keeps its own reason.
        entity.notePhaseChange('expflow', entity.state.stopReason ?? reason);
        break;
      }
      entity.state = applyCycleFailure(entity.state, entity.state.cycle + 1, cause?.message ?? err.message, isoAt(workflowNow()));
      log.warn('cycle failed; retrying at the next interval', { cycle: entity.state.cycle + 1, error: err.message });
    } finally {
      entity.cycleInProgress = false;
    }
    cyclesThisRun++;
    if (isFinished(entity.state)) break;

    // Continue as new once every runCycleNow caller has its cycle (a later target runs one more first).
    if ((cyclesThisRun >= input.continueAsNewEvery || workflowInfo().continueAsNewSuggested) && entity.cycleTargets.every((t) => t <= entity.state.cycle)) {
      entity.draining = true;
      // Handlers may still queue phase changes (conclude, stop) while others finish: flush as we wait.
      await entity.drainHandlers();
      await entity.flushPhaseChanges();
      if (!isFinished(entity.state)) {
        log.info('continuing as new', { cycle: entity.state.cycle });
        return continueAsNew<typeof experimentWorkflow>({ ...input, state: entity.state });
      }
      break;
    }

    entity.nextCycleAt = workflowNow() + input.cycleIntervalMs;
    await condition(() => entity.wakeRequested || entity.pendingPhaseChanges.length > 0 || isFinished(entity.state), input.cycleIntervalMs);
    entity.wakeRequested = false;
  }

  await entity.flushPhaseChanges();
  await condition(allHandlersFinished);
  return entity.state;

  async function runCycle(): Promise<void> {
    entity.cycleInProgress = true;
    const cycle = entity.state.cycle + 1;
    const ref = { experimentKey: input.experimentKey, cycle };
    const overridesBefore = entity.state.overridesApplied;
    const overrideArrived = () => entity.state.overridesApplied !== overridesBefore;
    // Read when reallocation is scheduled: an override or external event that arrived earlier in the cycle counts.
    const reallocateInput = () => ({ ...ref, override: entity.state.override?.weights ?? null, externalEvents: entity.state.externalEvents });
    // Runs recorded before runCycle existed replay the per-step path (no marker in their history).
    const oneActivity = input.cycleActivities !== 'per-step' && patched('cycle-in-one-activity');
    let allocation: CycleResult['allocation'];
    let throttled: CycleResult['throttled'];
    let decision: CycleResult['decision'];
    if (oneActivity) {
      ({ allocation, throttled, decision } = await analytics.runCycle(reallocateInput()));
      // An override that arrived while the steps ran was overwritten by their snapshots: apply it
      // again, keeping arms the breaker stopped (this cycle included) on control.
      if (overrideArrived()) await reapplyOverride(cycle, decision.stoppedArms);
    } else {
      await steps.collectData(ref);
      await analytics.segmentUnits(ref);
      await analytics.predictSignificance(ref);
      allocation = await analytics.reallocateTraffic(reallocateInput());
      throttled = await steps.throttleOrTerminate(ref);
      // An override that arrived while reallocation ran was overwritten by its snapshot: apply it again.
      if (overrideArrived()) await reapplyOverride(cycle);
      decision = await steps.decide(ref);
    }
    // Alerts (an arm stopped by the circuit breaker, a sample-ratio alarm) are notified too; results
    // recorded before alerts existed carry none, so replaying them takes the old path.
    const alerts = (decision.alerts ?? 0) > 0 && patched('notify-alerts');
    // A stop or conclude that arrived mid-cycle wins: no decision is announced for a finished experiment.
    if (!isFinished(entity.state) && (decision.outcome !== 'continue' || decision.segmentConclusions > 0 || alerts)) await steps.notify(ref);
    const summary: DecisionSummary = { cycle, outcome: decision.outcome, winner: decision.winner ?? undefined, rationale: decision.rationale };
    const before = entity.state.phase;
    // The breaker's snapshot (newly stopped arms routed to control) is the newest of this cycle.
    const cycleWeights = decision.snapshot?.weights ?? throttled.weights ?? allocation.weights;
    entity.state = applyCycleResult(entity.state, {
      cycle,
      weights: overrideArrived() ? entity.state.weights : cycleWeights,
      snapshotVersion: Math.max(entity.state.snapshotVersion, allocation.version, throttled.version ?? 0, decision.snapshot?.version ?? 0),
      decision: summary,
    });
    if (decision.stoppedArms !== undefined) entity.state = { ...entity.state, stoppedArms: decision.stoppedArms, srmAlarm: decision.srmAlarm ?? false };
    if (entity.state.phase !== before) entity.notePhaseChange('expflow', decision.rationale);
    entity.publishStatus();
  }

  /** Publishes the override in force again after a cycle's snapshots overwrote it (none in force: nothing to do). */
  async function reapplyOverride(cycle: number, stoppedArms?: string[]): Promise<void> {
    const override = entity.state.override;
    if (!override) return;
    entity.state = applyOverride(entity.state, override);
    const republished = await steps.publishOverride({
      experimentKey: input.experimentKey,
      overrideSeq: entity.state.overridesApplied,
      weights: override.weights,
      actor: override.actor,
      reason: `${override.reason} (re-applied after cycle ${cycle})`,
      ...(stoppedArms?.length ? { stoppedArms } : {}),
    });
    entity.state = { ...entity.state, weights: republished.weights, snapshotVersion: Math.max(entity.state.snapshotVersion, republished.version) };
  }
}
