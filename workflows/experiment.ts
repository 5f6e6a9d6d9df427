/**
 * ExperimentWorkflow: one per experiment (id `experiment-<key>`). Each cycle runs the durable steps
 * collect → segment → predict → reallocate → throttle/terminate → decide → notify, then sleeps for
 * the cycle interval; a signal or update can cut the sleep short. Deterministic orchestration only:
 * all arithmetic runs in activities.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  type ActivityOptions,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { CycleResult } from '../activities/run-cycle.js';
import { isoAt, msAt, workflowNow } from './clock.js';
import {
  applyConclude,
  applyCycleFailure,
  applyCycleResult,
  applyExternalEvent,
  applyOverride,
  applyPause,
  applyResume,
  applyStop,
  initialState,
  isFinished,
  validateWeights,
  type DecisionSummary,
  type ExperimentState,
  type ExternalContextEvent,
} from '../domain/experiment/state.js';
import { dampeningFactor } from '../domain/allocation/dampening.js';
import type { Weights } from '../domain/types.js';
import { SA } from './search-attributes.js';

export interface ExperimentWorkflowInput {
  experimentKey: string;
  kind: 'ab' | 'multi_arm' | 'model_comparison';
  variants: string[];
  cycleIntervalMs: number;
  maxCycles: number;
  continueAsNewEvery: number;
  dampeningHalfLifeMs?: number;
  /**
   * Task queue for the CPU-heavy steps (segment, predict, reallocate), so an analytics worker pool
   * can scale apart from the I/O steps. Default: the workflow's own queue.
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

export interface ExperimentStatus {
  experimentKey: string;
  phase: ExperimentState['phase'];
  cycle: number;
  weights: Record<string, Weights>;
  snapshotVersion: number;
  lastDecision: DecisionSummary | null;
  nextCycleAt: string | null;
  override: ExperimentState['override'] | null;
  /** The last cycle that failed after its activity retries, if the experiment has not since recovered. */
  lastError: ExperimentState['lastError'] | null;
  /** Waiting for in-flight handlers before continuing as new (new cycles are refused meanwhile). */
  draining: boolean;
  /** External-context dampening in force now (0..1 of test traffic moved to control) and the events behind it. */
  dampening: { factor: number; events: ExternalContextEvent[] };
  /** Arms the circuit breaker stopped (routed to control). */
  stoppedArms: string[];
  /** True while an unacknowledged sample-ratio alarm holds decisions. */
  srmAlarm: boolean;
}

interface PhaseChange {
  phase: ExperimentState['phase'];
  winner: string | null;
  actor: string;
  reason: string;
}

export interface ActorReason {
  actor?: string;
  reason?: string;
}

export const pauseSignal = defineSignal<[ActorReason]>('pause');
export const resumeSignal = defineSignal<[ActorReason]>('resume');
export const stopSignal = defineSignal<[ActorReason]>('stop');
/** From the manual endpoint or a reaction rule; a rule sends its own half-life. */
export interface ExternalContextInput {
  kind: string;
  severity: number;
  halfLifeSeconds?: number;
}
export const externalContextSignal = defineSignal<[ExternalContextInput]>('externalContext');

export const overrideAllocationUpdate = defineUpdate<
  { version: number; weights: Record<string, Weights> },
  [{ weights?: Weights; clear?: boolean; actor?: string; reason?: string }]
>('overrideAllocation');
export const runCycleNowUpdate = defineUpdate<{ cycle: number; decision: DecisionSummary | null }, [ActorReason]>('runCycleNow');
export const concludeUpdate = defineUpdate<{ phase: string; winner: string | null }, [{ winner?: string; actor?: string; reason?: string }]>(
  'conclude',
);
export const reenableArmUpdate = defineUpdate<{ arm: string; effectiveFromCycle: number }, [{ arm: string; actor: string; reason: string }]>('reenableArm');
export const acknowledgeSrmUpdate = defineUpdate<{ effectiveFromCycle: number }, [{ actor: string; reason: string }]>('acknowledgeSrm');
export const statusQuery = defineQuery<ExperimentStatus>('status');

const activityOptions: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  // Activities heartbeat every second (worker.ts); a dead worker's activity is retried after this.
  // Activity options are not compared on replay, so saved histories still replay.
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10, nonRetryableErrorTypes: ['InvalidConfig'] },
};
const steps = proxyActivities<Activities>(activityOptions);
const PHASE_RETRY_MS = 30_000;

export async function experimentWorkflow(input: ExperimentWorkflowInput): Promise<ExperimentState> {
  let state: ExperimentState = input.state ?? initialState();
  let wakeRequested = false;
  let nextCycleAt: number | null = null;
  let cyclesThisRun = 0;
  /** True while a cycle's activities run; runCycleNow then waits for the next one. */
  let cycleInProgress = false;
  /** The cycle each waiting runCycleNow caller needs; continue-as-new waits until all are reached. */
  const cycleTargets: number[] = [];
  /** Set once the run is about to continue as new: new runCycleNow calls are refused until then. */
  let draining = false;
  /**
   * Phase changes not yet persisted (DB status, audit log, snapshot), in order. Each captures the
   * phase it moved to, so a pause quickly followed by a resume records both.
   */
  const pendingPhaseChanges: PhaseChange[] = [];
  const notePhaseChange = (actor: string | undefined, reason: string) =>
    pendingPhaseChanges.push({ phase: state.phase, winner: state.winner ?? null, actor: actor ?? 'unknown', reason });
  const halfLifeMs = input.dampeningHalfLifeMs ?? 3_600_000;
  const analytics = input.analyticsTaskQueue ? proxyActivities<Activities>({ ...activityOptions, taskQueue: input.analyticsTaskQueue }) : steps;

  const publishStatus = () =>
    upsertSearchAttributes([
      { key: SA.status, value: state.phase },
      { key: SA.decisionOutcome, value: state.lastDecision?.outcome ?? 'none' },
    ]);

  setHandler(statusQuery, () => ({
    experimentKey: input.experimentKey,
    phase: state.phase,
    cycle: state.cycle,
    weights: state.weights,
    snapshotVersion: state.snapshotVersion,
    lastDecision: state.lastDecision ?? null,
    nextCycleAt: nextCycleAt === null || isFinished(state) ? null : isoAt(nextCycleAt),
    override: state.override ?? null,
    lastError: state.lastError ?? null,
    draining,
    dampening: {
      factor: dampeningFactor(
        state.externalEvents.map((e) => ({ at: msAt(e.at), severity: e.severity, halfLifeMs: e.halfLifeMs })),
        workflowNow(),
        halfLifeMs,
      ),
      events: state.externalEvents,
    },
    stoppedArms: state.stoppedArms ?? [],
    srmAlarm: state.srmAlarm ?? false,
  }));

  setHandler(pauseSignal, ({ actor, reason }) => {
    if (state.phase !== 'running') return;
    state = applyPause(state);
    notePhaseChange(actor, reason ?? 'paused');
  });
  setHandler(resumeSignal, ({ actor, reason }) => {
    if (state.phase !== 'paused') return;
    state = applyResume(state);
    notePhaseChange(actor, reason ?? 'resumed');
  });
  setHandler(stopSignal, ({ actor, reason }) => {
    if (isFinished(state)) return;
    state = applyStop(state, reason ?? 'stopped');
    notePhaseChange(actor, reason ?? 'stopped');
  });
  setHandler(externalContextSignal, ({ kind, severity, halfLifeSeconds }) => {
    // State only, no new command: histories recorded before halfLifeSeconds existed replay unchanged.
    const e: ExternalContextEvent = {
      kind,
      severity: Math.min(1, Math.max(0, severity)),
      at: isoAt(workflowNow()),
      ...(typeof halfLifeSeconds === 'number' && halfLifeSeconds > 0 ? { halfLifeMs: halfLifeSeconds * 1000 } : {}),
    };
    state = applyExternalEvent(state, e, workflowNow(), halfLifeMs);
    wakeRequested = true; // dampening should reach traffic now, not at the next scheduled cycle
  });

  setHandler(
    overrideAllocationUpdate,
    async ({ weights, clear, actor, reason }) => {
      state = applyOverride(state, clear ? undefined : { weights: weights!, actor: actor ?? 'unknown', reason: reason ?? '' });
      const published = await steps.publishOverride({
        experimentKey: input.experimentKey,
        overrideSeq: state.overridesApplied,
        weights: clear ? null : weights!,
        actor: actor ?? 'unknown',
        reason: reason ?? (clear ? 'override cleared' : 'manual override'),
      });
      state = { ...state, weights: published.weights, snapshotVersion: Math.max(state.snapshotVersion, published.version) };
      return published;
    },
    {
      validator: ({ weights, clear }) => {
        if (isFinished(state)) throw new Error(`experiment is ${state.phase}; allocation can no longer change`);
        if (clear) return;
        if (!weights) throw new Error('weights: required unless clear is true');
        const problem = validateWeights(weights, input.variants);
        if (problem) throw new Error(problem);
      },
    },
  );

  setHandler(
    runCycleNowUpdate,
    async (_input: ActorReason) => {
      // A cycle already running collected its data before this request: wait for the next one.
      const target = state.cycle + (cycleInProgress ? 2 : 1);
      wakeRequested = true;
      cycleTargets.push(target);
      try {
        await condition(() => state.cycle >= target || isFinished(state) || state.phase === 'paused');
      } finally {
        cycleTargets.splice(cycleTargets.indexOf(target), 1);
      }
      return { cycle: state.cycle, decision: state.lastDecision ?? null };
    },
    {
      validator: (_input: ActorReason) => {
        if (isFinished(state)) throw new Error(`experiment is ${state.phase}`);
        if (state.phase === 'paused') throw new Error('experiment is paused; resume it first');
        if (draining) throw new Error('experiment is continuing as new; retry in a moment');
      },
    },
  );

  setHandler(
    reenableArmUpdate,
    async ({ arm, actor, reason }) => {
      const seq = (state.operatorActions ?? 0) + 1;
      state = { ...state, operatorActions: seq };
      await steps.recordOperatorAction({ experimentKey: input.experimentKey, kind: 'arm.reenable', arm, actor, reason, cycle: state.cycle, seq });
      state = { ...state, stoppedArms: (state.stoppedArms ?? []).filter((a) => a !== arm) };
      return { arm, effectiveFromCycle: state.cycle + 1 };
    },
    {
      validator: ({ arm, actor, reason }) => {
        if (isFinished(state)) throw new Error(`experiment is ${state.phase}`);
        if (!actor || !reason) throw new Error('actor and reason: required');
        if (!(state.stoppedArms ?? []).includes(arm)) throw new Error(`arm: '${arm}' is not stopped`);
      },
    },
  );

  setHandler(
    acknowledgeSrmUpdate,
    async ({ actor, reason }) => {
      const seq = (state.operatorActions ?? 0) + 1;
      state = { ...state, operatorActions: seq };
      await steps.recordOperatorAction({ experimentKey: input.experimentKey, kind: 'srm.acknowledge', actor, reason, cycle: state.cycle, seq });
      state = { ...state, srmAlarm: false };
      return { effectiveFromCycle: state.cycle + 1 };
    },
    {
      validator: ({ actor, reason }) => {
        if (isFinished(state)) throw new Error(`experiment is ${state.phase}`);
        if (!actor || !reason) throw new Error('actor and reason: required');
        if (!state.srmAlarm) throw new Error('no sample-ratio alarm to acknowledge');
      },
    },
  );

  setHandler(
    concludeUpdate,
    async ({ winner, actor, reason }) => {
      state = applyConclude(state, winner, reason ?? 'concluded manually');
      notePhaseChange(actor, reason ?? 'concluded manually');
      await condition(() => pendingPhaseChanges.length === 0);
      return { phase: state.phase, winner: state.winner ?? null };
    },
    {
      validator: ({ winner }) => {
        if (isFinished(state)) throw new Error(`experiment is already ${state.phase}`);
        if (winner !== undefined && !input.variants.includes(winner)) throw new Error(`winner: unknown variant '${winner}'`);
      },
    },
  );

  /** Persists a phase change (DB status, audit log, snapshot) and its search attribute. */
  const flushPhaseChanges = async () => {
    if (!pendingPhaseChanges.length) return;
    while (pendingPhaseChanges.length) {
      const change = pendingPhaseChanges[0]!;
      const seq = (state.phaseChanges ?? 0) + 1;
      try {
        await steps.recordPhaseChange({ experimentKey: input.experimentKey, ...change, seq });
      } catch (err) {
        // Out of retries (database down for minutes): keep the change queued and try again later
        // rather than failing the experiment; the activity is idempotent on `seq`.
        if (!(err instanceof ActivityFailure)) throw err;
        log.warn('recording a phase change failed; retrying', { seq, error: err.message });
        await sleep(PHASE_RETRY_MS);
        continue;
      }
      state = { ...state, phaseChanges: seq };
      pendingPhaseChanges.shift();
    }
    publishStatus();
  };

  publishStatus();

  while (!isFinished(state)) {
    await flushPhaseChanges();
    if (state.phase === 'paused') {
      await condition(() => state.phase !== 'paused' || pendingPhaseChanges.length > 0);
      continue;
    }
    if (state.cycle >= input.maxCycles) {
      state = applyConclude(state, undefined, `reached maxCycles (${input.maxCycles}) without a decision`);
      notePhaseChange('expflow', state.stopReason!);
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
        state = applyStop(state, `invalid configuration: ${cause.message}`);
        notePhaseChange('expflow', state.stopReason!);
        break;
      }
      state = applyCycleFailure(state, state.cycle + 1, cause?.message ?? err.message, isoAt(workflowNow()));
      log.warn('cycle failed; retrying at the next interval', { cycle: state.cycle + 1, error: err.message });
    } finally {
      cycleInProgress = false;
    }
    cyclesThisRun++;
    if (isFinished(state)) break;

    // Continue as new once every runCycleNow caller has its cycle (a later target runs one more first).
    if ((cyclesThisRun >= input.continueAsNewEvery || workflowInfo().continueAsNewSuggested) && cycleTargets.every((t) => t <= state.cycle)) {
      draining = true;
      // Handlers may still queue phase changes (conclude, stop) while others finish: flush as we wait.
      while (!allHandlersFinished()) {
        await condition(() => allHandlersFinished() || pendingPhaseChanges.length > 0);
        await flushPhaseChanges();
      }
      await flushPhaseChanges();
      if (!isFinished(state)) {
        log.info('continuing as new', { cycle: state.cycle });
        return continueAsNew<typeof experimentWorkflow>({ ...input, state });
      }
      break;
    }

    nextCycleAt = workflowNow() + input.cycleIntervalMs;
    await condition(() => wakeRequested || pendingPhaseChanges.length > 0 || isFinished(state), input.cycleIntervalMs);
    wakeRequested = false;
  }

  await flushPhaseChanges();
  await condition(allHandlersFinished);
  return state;

  async function runCycle(): Promise<void> {
    cycleInProgress = true;
    const cycle = state.cycle + 1;
    const ref = { experimentKey: input.experimentKey, cycle };
    const overridesBefore = state.overridesApplied;
    // Read when reallocation is scheduled: an override or external event that arrived earlier in the cycle counts.
    const reallocateInput = () => ({ ...ref, override: state.override?.weights ?? null, externalEvents: state.externalEvents });
    // Runs recorded before runCycle existed replay the per-step path (no marker in their history).
    const oneActivity = input.cycleActivities !== 'per-step' && patched('cycle-in-one-activity');
    let allocation: CycleResult['allocation'];
    let throttled: CycleResult['throttled'];
    let decision: CycleResult['decision'];
    if (oneActivity) {
      ({ allocation, throttled, decision } = await analytics.runCycle(reallocateInput()));
      // An override that arrived while the steps ran was overwritten by their snapshots: apply it
      // again, keeping arms the breaker stopped (this cycle included) on control.
      if (state.overridesApplied !== overridesBefore && state.override) await reapplyOverride(cycle, decision.stoppedArms);
    } else {
      await steps.collectData(ref);
      await analytics.segmentUnits(ref);
      await analytics.predictSignificance(ref);
      allocation = await analytics.reallocateTraffic(reallocateInput());
      throttled = await steps.throttleOrTerminate(ref);
      // An override that arrived while reallocation ran was overwritten by its snapshot: apply it again.
      if (state.overridesApplied !== overridesBefore && state.override) await reapplyOverride(cycle);
      decision = await steps.decide(ref);
    }
    // Alerts (an arm stopped by the circuit breaker, a sample-ratio alarm) are notified too; results
    // recorded before alerts existed carry none, so replaying them takes the old path.
    const alerts = (decision.alerts ?? 0) > 0 && patched('notify-alerts');
    // A stop or conclude that arrived mid-cycle wins: no decision is announced for a finished experiment.
    if (!isFinished(state) && (decision.outcome !== 'continue' || decision.segmentConclusions > 0 || alerts)) await steps.notify(ref);
    const summary: DecisionSummary = { cycle, outcome: decision.outcome, winner: decision.winner ?? undefined, rationale: decision.rationale };
    const before = state.phase;
    // The breaker's snapshot (newly stopped arms routed to control) is the newest of this cycle.
    const cycleWeights = decision.snapshot?.weights ?? throttled.weights ?? allocation.weights;
    state = applyCycleResult(state, {
      cycle,
      weights: state.overridesApplied !== overridesBefore ? state.weights : cycleWeights,
      snapshotVersion: Math.max(state.snapshotVersion, allocation.version, throttled.version ?? 0, decision.snapshot?.version ?? 0),
      decision: summary,
    });
    if (decision.stoppedArms !== undefined) state = { ...state, stoppedArms: decision.stoppedArms, srmAlarm: decision.srmAlarm ?? false };
    if (state.phase !== before) notePhaseChange('expflow', decision.rationale);
    publishStatus();
  }

  /** Publishes the override in force again after a cycle's snapshots overwrote it. */
  async function reapplyOverride(cycle: number, stoppedArms?: string[]): Promise<void> {
    const override = state.override;
    if (!override) return;
    state = applyOverride(state, override);
    const republished = await steps.publishOverride({
      experimentKey: input.experimentKey,
      overrideSeq: state.overridesApplied,
      weights: override.weights,
      actor: override.actor,
      reason: `${override.reason} (re-applied after cycle ${cycle})`,
      ...(stoppedArms?.length ? { stoppedArms } : {}),
    });
    state = { ...state, weights: republished.weights, snapshotVersion: Math.max(state.snapshotVersion, republished.version) };
  }
}
