/**
 * The experiment as an entity: its state, and the signal, update and query handlers that change or
 * read it (pause, resume, stop, external context, override, run a cycle now, re-enable an arm,
 * acknowledge an alarm, conclude, status). Phase changes are queued here and persisted in order by
 * flushPhaseChanges; the cycle loop (experiment.ts) runs the cycles and decides when to wait.
 */
import { ActivityFailure, allHandlersFinished, condition, log, setHandler, sleep, upsertSearchAttributes } from '@temporalio/workflow';
import type { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { dampeningFactor } from '../domain/allocation/dampening.js';
import type { ActorReason, ExperimentStatus } from '../domain/experiment/messages.js';
import {
  applyConclude,
  applyExternalEvent,
  applyOverride,
  applyPause,
  applyResume,
  applyStop,
  initialState,
  isFinished,
  validateWeights,
  type ExperimentState,
  type ExternalContextEvent,
} from '../domain/experiment/state.js';
import { isoAt, msAt, workflowNow } from './clock.js';
import type { ExperimentWorkflowInput } from './experiment.js';
import {
  acknowledgeSrmUpdate,
  concludeUpdate,
  externalContextSignal,
  overrideAllocationUpdate,
  pauseSignal,
  reenableArmUpdate,
  resumeSignal,
  runCycleNowUpdate,
  statusQuery,
  stopSignal,
} from './experiment-messages.js';
import { SA } from './search-attributes.js';

type Steps = ReturnType<typeof proxyActivities<Activities>>;

interface PhaseChange {
  phase: ExperimentState['phase'];
  winner: string | null;
  actor: string;
  reason: string;
}

const PHASE_RETRY_MS = 30_000;

export class ExperimentEntity {
  state: ExperimentState;
  /** A handler asked the loop to run a cycle now instead of sleeping out the interval. */
  wakeRequested = false;
  nextCycleAt: number | null = null;
  /** True while a cycle's activities run; runCycleNow then waits for the next one. */
  cycleInProgress = false;
  /** The cycle each waiting runCycleNow caller needs; continue-as-new waits until all are reached. */
  readonly cycleTargets: number[] = [];
  /** Set once the run is about to continue as new: new runCycleNow calls are refused until then. */
  draining = false;
  /**
   * Phase changes not yet persisted (DB status, audit log, snapshot), in order. Each captures the
   * phase it moved to, so a pause quickly followed by a resume records both.
   */
  readonly pendingPhaseChanges: PhaseChange[] = [];
  private readonly halfLifeMs: number;

  constructor(
    private readonly input: ExperimentWorkflowInput,
    private readonly steps: Steps,
  ) {
    this.state = input.state ?? initialState();
    this.halfLifeMs = input.dampeningHalfLifeMs ?? 3_600_000;
  }

  notePhaseChange(actor: string | undefined, reason: string): void {
    this.pendingPhaseChanges.push({ phase: this.state.phase, winner: this.state.winner ?? null, actor: actor ?? 'unknown', reason });
  }

  publishStatus(): void {
    upsertSearchAttributes([
      { key: SA.status, value: this.state.phase },
      { key: SA.decisionOutcome, value: this.state.lastDecision?.outcome ?? 'none' },
    ]);
  }

  /** Persists the queued phase changes in order (DB status, audit log, snapshot) and the search attribute. */
  async flushPhaseChanges(): Promise<void> {
    if (!this.pendingPhaseChanges.length) return;
    for (let change = this.pendingPhaseChanges[0]; change; change = this.pendingPhaseChanges[0]) {
      const seq = (this.state.phaseChanges ?? 0) + 1;
      try {
        await this.steps.recordPhaseChange({ experimentKey: this.input.experimentKey, ...change, seq });
      } catch (err) {
        // Out of retries (database down for minutes): keep the change queued and try again later
        // rather than failing the experiment; the activity is idempotent on `seq`.
        if (!(err instanceof ActivityFailure)) throw err;
        log.warn('recording a phase change failed; retrying', { seq, error: err.message });
        await sleep(PHASE_RETRY_MS);
        continue;
      }
      this.state = { ...this.state, phaseChanges: seq };
      this.pendingPhaseChanges.shift();
    }
    this.publishStatus();
  }

  status(): ExperimentStatus {
    const { state, input } = this;
    return {
      experimentKey: input.experimentKey,
      phase: state.phase,
      cycle: state.cycle,
      weights: state.weights,
      snapshotVersion: state.snapshotVersion,
      lastDecision: state.lastDecision ?? null,
      nextCycleAt: this.nextCycleAt === null || isFinished(state) ? null : isoAt(this.nextCycleAt),
      override: state.override ?? null,
      lastError: state.lastError ?? null,
      draining: this.draining,
      dampening: {
        factor: dampeningFactor(
          state.externalEvents.map((e) => ({ at: msAt(e.at), severity: e.severity, halfLifeMs: e.halfLifeMs })),
          workflowNow(),
          this.halfLifeMs,
        ),
        events: state.externalEvents,
      },
      stoppedArms: state.stoppedArms ?? [],
      srmAlarm: state.srmAlarm ?? false,
    };
  }

  /** Installs every signal, update and query handler. */
  install(): void {
    const { input } = this;
    setHandler(statusQuery, () => this.status());

    setHandler(pauseSignal, ({ actor, reason }) => {
      if (this.state.phase !== 'running') return;
      this.state = applyPause(this.state);
      this.notePhaseChange(actor, reason ?? 'paused');
    });
    setHandler(resumeSignal, ({ actor, reason }) => {
      if (this.state.phase !== 'paused') return;
      this.state = applyResume(this.state);
      this.notePhaseChange(actor, reason ?? 'resumed');
    });
    setHandler(stopSignal, ({ actor, reason }) => {
      if (isFinished(this.state)) return;
      this.state = applyStop(this.state, reason ?? 'stopped');
      this.notePhaseChange(actor, reason ?? 'stopped');
    });
    setHandler(externalContextSignal, ({ kind, severity, halfLifeSeconds }) => {
      // State only, no new command: histories recorded before halfLifeSeconds existed replay unchanged.
      const e: ExternalContextEvent = {
        kind,
        severity: Math.min(1, Math.max(0, severity)),
        at: isoAt(workflowNow()),
        ...(typeof halfLifeSeconds === 'number' && halfLifeSeconds > 0 ? { halfLifeMs: halfLifeSeconds * 1000 } : {}),
      };
      this.state = applyExternalEvent(this.state, e, workflowNow(), this.halfLifeMs);
      this.wakeRequested = true; // dampening should reach traffic now, not at the next scheduled cycle
    });

    setHandler(
      overrideAllocationUpdate,
      async ({ weights, clear, actor, reason }) => {
        this.state = applyOverride(this.state, clear ? undefined : { weights: weights!, actor: actor ?? 'unknown', reason: reason ?? '' });
        const published = await this.steps.publishOverride({
          experimentKey: input.experimentKey,
          overrideSeq: this.state.overridesApplied,
          weights: clear ? null : weights!,
          actor: actor ?? 'unknown',
          reason: reason ?? (clear ? 'override cleared' : 'manual override'),
        });
        this.state = { ...this.state, weights: published.weights, snapshotVersion: Math.max(this.state.snapshotVersion, published.version) };
        return published;
      },
      {
        validator: ({ weights, clear }) => {
          if (isFinished(this.state)) throw new Error(`experiment is ${this.state.phase}; allocation can no longer change`);
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
        const target = this.state.cycle + (this.cycleInProgress ? 2 : 1);
        this.wakeRequested = true;
        this.cycleTargets.push(target);
        try {
          await condition(() => this.state.cycle >= target || isFinished(this.state) || this.state.phase === 'paused');
        } finally {
          this.cycleTargets.splice(this.cycleTargets.indexOf(target), 1);
        }
        return { cycle: this.state.cycle, decision: this.state.lastDecision ?? null };
      },
      {
        validator: (_input: ActorReason) => {
          if (isFinished(this.state)) throw new Error(`experiment is ${this.state.phase}`);
          if (this.state.phase === 'paused') throw new Error('experiment is paused; resume it first');
          if (this.draining) throw new Error('experiment is continuing as new; retry in a moment');
        },
      },
    );

    setHandler(
      reenableArmUpdate,
      async ({ arm, actor, reason }) => {
        const seq = (this.state.operatorActions ?? 0) + 1;
        this.state = { ...this.state, operatorActions: seq };
        await this.steps.recordOperatorAction({ experimentKey: input.experimentKey, kind: 'arm.reenable', arm, actor, reason, cycle: this.state.cycle, seq });
        this.state = { ...this.state, stoppedArms: (this.state.stoppedArms ?? []).filter((a) => a !== arm) };
        return { arm, effectiveFromCycle: this.state.cycle + 1 };
      },
      {
        validator: ({ arm, actor, reason }) => {
          if (isFinished(this.state)) throw new Error(`experiment is ${this.state.phase}`);
          if (!actor || !reason) throw new Error('actor and reason: required');
          if (!(this.state.stoppedArms ?? []).includes(arm)) throw new Error(`arm: '${arm}' is not stopped`);
        },
      },
    );

    setHandler(
      acknowledgeSrmUpdate,
      async ({ actor, reason }) => {
        const seq = (this.state.operatorActions ?? 0) + 1;
        this.state = { ...this.state, operatorActions: seq };
        await this.steps.recordOperatorAction({ experimentKey: input.experimentKey, kind: 'srm.acknowledge', actor, reason, cycle: this.state.cycle, seq });
        this.state = { ...this.state, srmAlarm: false };
        return { effectiveFromCycle: this.state.cycle + 1 };
      },
      {
        validator: ({ actor, reason }) => {
          if (isFinished(this.state)) throw new Error(`experiment is ${this.state.phase}`);
          if (!actor || !reason) throw new Error('actor and reason: required');
          if (!this.state.srmAlarm) throw new Error('no sample-ratio alarm to acknowledge');
        },
      },
    );

    setHandler(
      concludeUpdate,
      async ({ winner, actor, reason }) => {
        this.state = applyConclude(this.state, winner, reason ?? 'concluded manually');
        this.notePhaseChange(actor, reason ?? 'concluded manually');
        await condition(() => this.pendingPhaseChanges.length === 0);
        return { phase: this.state.phase, winner: this.state.winner ?? null };
      },
      {
        validator: ({ winner }) => {
          if (isFinished(this.state)) throw new Error(`experiment is already ${this.state.phase}`);
          if (winner !== undefined && !input.variants.includes(winner)) throw new Error(`winner: unknown variant '${winner}'`);
        },
      },
    );
  }

  /** Waits until every update handler has returned, persisting phase changes they queue meanwhile. */
  async drainHandlers(): Promise<void> {
    while (!allHandlersFinished()) {
      await condition(() => allHandlersFinished() || this.pendingPhaseChanges.length > 0);
      await this.flushPhaseChanges();
    }
  }
}
