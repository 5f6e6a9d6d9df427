/**
 * ExperimentWorkflow's signals, updates, pause/resume/stop, automatic conclusion and
 * continue-as-new, on the real Temporal dev server with mocked activities. With
 * EXPFLOW_SAVE_HISTORIES=1 the finished runs' histories are written to test/histories/ for the
 * replay gate.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { experimentWorkflow, type ExperimentWorkflowInput } from '../../workflows/experiment.js';
import { concludeUpdate, overrideAllocationUpdate, pauseSignal, resumeSignal, runCycleNowUpdate, statusQuery, stopSignal } from '../../workflows/experiment-messages.js';
import { testConfig, uniqueSuffix, waitFor } from '../helpers/services.js';
import { workflowWorker } from '../helpers/workflow-worker.js';
import { cycleCosts } from '../../bench/lib/cycle-history.js';
import { mockActivities, type ActivityScript } from './mock-activities.js';

const config = testConfig();
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createFromExistingServer({ address: config.temporalAddress });
});
afterAll(async () => {
  await env?.teardown();
});

const input = (key: string, over: Partial<ExperimentWorkflowInput> = {}): ExperimentWorkflowInput => ({
  experimentKey: key,
  kind: 'ab',
  variants: ['control', 'treatment'],
  cycleIntervalMs: 3_600_000,
  maxCycles: 100,
  continueAsNewEvery: 100,
  ...over,
});

/** Starts a worker with scripted activities, runs `body`, and shuts the worker down. */
async function withWorkflow(
  name: string,
  script: ActivityScript,
  over: Partial<ExperimentWorkflowInput>,
  body: (h: WorkflowHandle<typeof experimentWorkflow>, mock: ReturnType<typeof mockActivities>) => Promise<void>,
) {
  const taskQueue = `wf-${uniqueSuffix()}`;
  const mock = mockActivities(script);
  const worker = await workflowWorker(env, taskQueue, mock.activities);
  const key = `${name}-${uniqueSuffix()}`;
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(experimentWorkflow, { taskQueue, workflowId: `experiment-${key}`, args: [input(key, over)] });
    await body(handle, mock);
    if (process.env.EXPFLOW_SAVE_HISTORIES === '1') {
      const history = await handle.fetchHistory();
      await writeFile(new URL(`../histories/${name}.json`, import.meta.url), historyToJSON(history));
    }
  });
  return mock;
}

/** The validator's reason travels as the cause of WorkflowUpdateFailedError. */
async function rejectionReason(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  return ((err as WorkflowUpdateFailedError).cause as Error).message;
}

const cycleDone = (h: WorkflowHandle<typeof experimentWorkflow>, cycle: number) =>
  waitFor(async () => (await h.query(statusQuery)).cycle >= cycle, { what: `cycle ${cycle}` });

describe('ExperimentWorkflow', () => {
  it('runs the steps in order each cycle and reports status', async () => {
    await withWorkflow('cycle-order', {}, {}, async (h, mock) => {
      await cycleDone(h, 1);
      expect(mock.names().slice(0, 6)).toEqual(['collectData', 'segmentUnits', 'predictSignificance', 'reallocateTraffic', 'throttleOrTerminate', 'decide']);
      const status = await h.query(statusQuery);
      expect(status).toMatchObject({ phase: 'running', cycle: 1, lastDecision: { outcome: 'continue', cycle: 1 } });
      expect(status.weights['0']).toEqual({ control: 0.5, treatment: 0.5 });
      expect(Date.parse(status.nextCycleAt!)).toBeGreaterThan(Date.now() + 3_000_000);
      const r = await h.executeUpdate(runCycleNowUpdate, { args: [{}] });
      expect(r.cycle).toBe(2);
      await h.signal(stopSignal, { actor: 'ops', reason: 'done testing' });
      const final = await h.result();
      expect(final.phase).toBe('stopped');
      expect(final.stopReason).toBe('done testing');
    });
  });

  it('pauses, rejects cycles while paused, resumes and stops', async () => {
    await withWorkflow('pause-resume-stop', {}, {}, async (h, mock) => {
      await cycleDone(h, 1);
      await h.signal(pauseSignal, { actor: 'ops', reason: 'incident' });
      await waitFor(async () => (await h.query(statusQuery)).phase === 'paused', { what: 'paused' });
      await waitFor(async () => mock.calls.some((c) => c.name === 'recordPhaseChange' && c.input.phase === 'paused'), { what: 'pause recorded' });
      expect(await rejectionReason(h.executeUpdate(runCycleNowUpdate, { args: [{}] }))).toMatch(/paused/);
      await h.signal(resumeSignal, { actor: 'ops' });
      await waitFor(async () => (await h.query(statusQuery)).phase === 'running', { what: 'resumed' });
      await cycleDone(h, 2); // resuming runs a catch-up cycle at once
      const r = await h.executeUpdate(runCycleNowUpdate, { args: [{}] });
      expect(r.cycle).toBe(3);
      await h.signal(stopSignal, { actor: 'ops', reason: 'bad data' });
      expect((await h.result()).phase).toBe('stopped');
      const phases = mock.calls.filter((c) => c.name === 'recordPhaseChange').map((c) => [c.input.phase, c.input.actor, c.input.reason]);
      expect(phases).toEqual([
        ['paused', 'ops', 'incident'],
        ['running', 'ops', 'resumed'],
        ['stopped', 'ops', 'bad data'],
      ]);
    });
  });

  it('answers runCycleNow with a cycle that started after the request', async () => {
    await withWorkflow('run-cycle-fresh', {}, {}, async (h, mock) => {
      await cycleDone(h, 1);
      const r = await h.executeUpdate(runCycleNowUpdate, { args: [{}] });
      expect(r.cycle).toBe(2);
      // Every collect the answer rests on began after the request was accepted.
      expect(mock.calls.filter((c) => c.name === 'collectData').map((c) => c.input.cycle)).toEqual([1, 2]);
      await h.signal(stopSignal, { reason: 'end' });
      await h.result();
    });
  });

  it('answers a runCycleNow accepted before the first cycle with that cycle, and runs no extra one', async () => {
    const taskQueue = `wf-${uniqueSuffix()}`;
    const key = `early-run-${uniqueSuffix()}`;
    const mock = mockActivities();
    const worker = await workflowWorker(env, taskQueue, mock.activities);
    await worker.runUntil(async () => {
      // Update-with-start: the update reaches the workflow in its first task, before the first cycle.
      const start = new WithStartWorkflowOperation(experimentWorkflow, { taskQueue, workflowId: `experiment-${key}`, args: [input(key)], workflowIdConflictPolicy: 'FAIL' });
      const r = await env.client.workflow.executeUpdateWithStart(runCycleNowUpdate, { args: [{}], startWorkflowOperation: start });
      expect(r.cycle).toBe(1);
      const h = await start.workflowHandle();
      // Wait until the loop sleeps out its interval, then count the cycles that ran.
      await waitFor(async () => ((await h.fetchHistory()).events ?? []).some((e) => e.timerStartedEventAttributes), { what: 'interval timer' });
      expect(mock.calls.filter((c) => c.name === 'collectData').map((c) => c.input.cycle)).toEqual([1]);
      await h.signal(stopSignal, { reason: 'end' });
      await h.result();
    });
  });

  it('records a pause and a resume sent back to back, each once', async () => {
    await withWorkflow('pause-resume-burst', {}, {}, async (h, mock) => {
      await cycleDone(h, 1);
      await h.signal(pauseSignal, { actor: 'ops', reason: 'blip' });
      await h.signal(resumeSignal, { actor: 'ops', reason: 'false alarm' });
      await waitFor(async () => mock.calls.filter((c) => c.name === 'recordPhaseChange').length === 2, { what: 'both changes recorded' });
      const changes = mock.calls.filter((c) => c.name === 'recordPhaseChange').map((c) => c.input);
      expect(changes.map((c) => [c.phase, c.reason, c.seq])).toEqual([
        ['paused', 'blip', 1],
        ['running', 'false alarm', 2],
      ]);
      expect((await h.query(statusQuery)).phase).toBe('running');
      await h.signal(stopSignal, { reason: 'end' });
      await h.result();
    });
  });

  it('survives a cycle whose activity fails, retrying it at the next interval', async () => {
    await withWorkflow('activity-failure', { collectFailures: { count: 2, type: 'Unavailable' } }, { cycleIntervalMs: 300 }, async (h, mock) => {
      await waitFor(async () => (await h.query(statusQuery)).lastError !== null, { what: 'failure recorded' });
      const failing = await h.query(statusQuery);
      expect(failing).toMatchObject({ phase: 'running', cycle: 0, lastError: { cycle: 1, message: expect.stringMatching(/database unavailable/) } });
      await cycleDone(h, 1);
      const recovered = await h.query(statusQuery);
      expect(recovered.lastError).toBeNull();
      expect(mock.calls.filter((c) => c.name === 'collectData' && c.input.cycle === 1)).toHaveLength(3);
      await h.signal(stopSignal, { reason: 'end' });
      expect((await h.result()).phase).toBe('stopped');
    });
  });

  it('stops an experiment whose stored configuration is invalid', async () => {
    await withWorkflow('invalid-config', { collectFailures: { count: 1, type: 'InvalidConfig' } }, {}, async (h, mock) => {
      const final = await h.result();
      expect(final.phase).toBe('stopped');
      expect(final.stopReason).toMatch(/invalid configuration/);
      expect(mock.calls.find((c) => c.name === 'recordPhaseChange')!.input).toMatchObject({ phase: 'stopped', actor: 'expflow' });
    });
  });

  it('concludes while continue-as-new waits for an override to finish', async () => {
    await withWorkflow('conclude-while-draining', { overrideDelayMs: 20_000 }, { continueAsNewEvery: 1, cycleIntervalMs: 200 }, async (h, mock) => {
      await cycleDone(h, 1);
      const override = h.executeUpdate(overrideAllocationUpdate, { args: [{ weights: { control: 0.7, treatment: 0.3 } }] });
      // The override's activity is held for 20 s (a loaded machine may take seconds per cycle). Once the current cycle ends, the run waits for it
      // before continuing as new (draining), and refuses a fresh cycle meanwhile.
      const overrideInFlight = () => mock.started.length > mock.names().filter((n) => n === 'publishOverride').length;
      await waitFor(async () => (await h.query(statusQuery)).draining && overrideInFlight(), { what: 'draining while the override runs', intervalMs: 20, timeoutMs: 45_000 });
      expect(await rejectionReason(h.executeUpdate(runCycleNowUpdate, { args: [{}] }))).toMatch(/continuing as new/);
      const concluded = await h.executeUpdate(concludeUpdate, { args: [{ winner: 'control', reason: 'enough' }] });
      expect(concluded).toEqual({ phase: 'concluded', winner: 'control' });
      await override;
      expect((await h.result()).phase).toBe('concluded');
    });
  });

  it('validates overrides and applies them to later cycles', async () => {
    await withWorkflow('override', {}, {}, async (h, mock) => {
      await cycleDone(h, 1);
      expect(await rejectionReason(h.executeUpdate(overrideAllocationUpdate, { args: [{ weights: { control: 0.7, treatment: 0.7 } }] }))).toMatch(/^weights: must sum to 1/);
      expect(await rejectionReason(h.executeUpdate(overrideAllocationUpdate, { args: [{ weights: { control: 0.5, nope: 0.5 } }] }))).toMatch(/^weights: unknown variant/);
      expect(await rejectionReason(h.executeUpdate(overrideAllocationUpdate, { args: [{}] }))).toMatch(/^weights: required/);
      const ok = await h.executeUpdate(overrideAllocationUpdate, { args: [{ weights: { control: 0.8, treatment: 0.2 }, actor: 'ops', reason: 'limit risk' }] });
      expect(ok.weights['0']).toEqual({ control: 0.8, treatment: 0.2 });
      expect((await h.query(statusQuery)).override).toMatchObject({ weights: { control: 0.8, treatment: 0.2 }, actor: 'ops' });
      await h.executeUpdate(runCycleNowUpdate, { args: [{}] });
      const realloc = mock.calls.filter((c) => c.name === 'reallocateTraffic');
      expect(realloc.at(-1)!.input.override).toEqual({ control: 0.8, treatment: 0.2 });
      await h.executeUpdate(overrideAllocationUpdate, { args: [{ clear: true }] });
      await h.executeUpdate(runCycleNowUpdate, { args: [{}] });
      expect(mock.calls.filter((c) => c.name === 'reallocateTraffic').at(-1)!.input.override).toBeNull();
      await h.signal(stopSignal, { reason: 'end' });
      await h.result();
    });
  });

  it('concludes by update, rejecting unknown winners and later changes', async () => {
    await withWorkflow('conclude', {}, {}, async (h, mock) => {
      await cycleDone(h, 1);
      expect(await rejectionReason(h.executeUpdate(concludeUpdate, { args: [{ winner: 'nope' }] }))).toMatch(/^winner: unknown variant/);
      const r = await h.executeUpdate(concludeUpdate, { args: [{ winner: 'treatment', actor: 'pm', reason: 'good enough' }] });
      expect(r).toEqual({ phase: 'concluded', winner: 'treatment' });
      const final = await h.result();
      expect(final.phase).toBe('concluded');
      expect(mock.calls.find((c) => c.name === 'recordPhaseChange')!.input).toMatchObject({ phase: 'concluded', winner: 'treatment', actor: 'pm' });
      // The run has closed: a later change finds no running workflow to apply to.
      const late = await h.executeUpdate(overrideAllocationUpdate, { args: [{ clear: true }] }).then(() => null, (e: unknown) => e);
      expect(late).toBeInstanceOf(WorkflowNotFoundError);
      expect((late as Error).message).toMatch(/already completed/);
    });
  });

  it('concludes on its own when a cycle decides, and notifies', async () => {
    await withWorkflow('auto-conclude', { decisions: { 2: { outcome: 'ship', winner: 'treatment', rationale: 'treatment better' } } }, { cycleIntervalMs: 200 }, async (h, mock) => {
      const final = await h.result();
      expect(final).toMatchObject({ phase: 'concluded', cycle: 2, winner: 'treatment', lastDecision: { outcome: 'ship' } });
      expect(mock.names().filter((n) => n === 'notify')).toHaveLength(1);
      expect(mock.calls.find((c) => c.name === 'recordPhaseChange')!.input).toMatchObject({ phase: 'concluded', winner: 'treatment', actor: 'expflow' });
    });
  });

  it('continues as new after N cycles with its state intact', async () => {
    await withWorkflow('continue-as-new', {}, { continueAsNewEvery: 2 }, async (h) => {
      const firstRun = (await h.describe()).runId;
      await cycleDone(h, 1);
      await h.executeUpdate(overrideAllocationUpdate, { args: [{ weights: { control: 0.6, treatment: 0.4 }, actor: 'ops' }] });
      await h.executeUpdate(runCycleNowUpdate, { args: [{}] });
      // Cycle 2 ended the first run; the next run starts from the carried state.
      const next = await waitFor(async () => {
        const d = await h.describe();
        return d.runId !== firstRun ? d : null;
      }, { what: 'new run' });
      expect(next.runId).not.toBe(firstRun);
      await cycleDone(h, 3); // the new run starts with a cycle
      const status = await h.query(statusQuery);
      expect(status.cycle).toBe(3);
      expect(status.override?.weights).toEqual({ control: 0.6, treatment: 0.4 });
      const r = await h.executeUpdate(runCycleNowUpdate, { args: [{}] });
      expect(r.cycle).toBe(status.cycle + 1);
      await h.signal(stopSignal, { reason: 'end' });
      expect((await h.result()).phase).toBe('stopped');
    });
  });

  it('runs the heavy steps on the analytics task queue when one is given (per step)', async () => {
    const analyticsQueue = `analytics-${uniqueSuffix()}`;
    const analytics = mockActivities();
    const analyticsWorker = await Worker.create({ connection: env.nativeConnection, taskQueue: analyticsQueue, activities: analytics.activities });
    await analyticsWorker.runUntil(
      withWorkflow('analytics-queue-per-step', {}, { analyticsTaskQueue: analyticsQueue, cycleActivities: 'per-step' }, async (h, main) => {
        await cycleDone(h, 1);
        expect(analytics.names()).toEqual(['segmentUnits', 'predictSignificance', 'reallocateTraffic']);
        expect(main.names().slice(0, 3)).toEqual(['collectData', 'throttleOrTerminate', 'decide']);
        await h.signal(stopSignal, { reason: 'end' });
        await h.result();
      }),
    );
  });

  it('runs the whole cycle activity on the analytics task queue when one is given (per cycle)', async () => {
    const analyticsQueue = `analytics-${uniqueSuffix()}`;
    const analytics = mockActivities();
    const analyticsWorker = await Worker.create({ connection: env.nativeConnection, taskQueue: analyticsQueue, activities: analytics.activities });
    await analyticsWorker.runUntil(
      withWorkflow('analytics-queue-per-cycle', {}, { analyticsTaskQueue: analyticsQueue }, async (h, main) => {
        await cycleDone(h, 1);
        expect(analytics.names()).toEqual(['collectData', 'segmentUnits', 'predictSignificance', 'reallocateTraffic', 'throttleOrTerminate', 'decide']);
        expect(main.names()).toEqual([]);
        await h.signal(stopSignal, { reason: 'end' });
        await h.result();
      }),
    );
  });

  it('takes 2 workflow tasks and 1 activity a cycle in one activity, against 7 and 6 per step', async () => {
    const perCycle: Record<string, number[]> = {};
    for (const design of ['per-cycle', 'per-step'] as const) {
      await withWorkflow(`tasks-${design}`, {}, { cycleIntervalMs: 300, cycleActivities: design }, async (h) => {
        // Cycles 2 and 3 are woken by their timers (cycle 1 runs at start).
        await waitFor(async () => (await h.query(statusQuery)).cycle >= 3, { what: 'cycle 3', timeoutMs: 120_000 });
        await h.signal(stopSignal, { reason: 'end' });
        await h.result();
        const costs = cycleCosts(JSON.parse(historyToJSON(await h.fetchHistory())), 300);
        expect(costs.length).toBeGreaterThanOrEqual(2);
        perCycle[design] = [Math.max(...costs.map((c) => c.workflowTasks)), Math.max(...costs.map((c) => c.activities))];
      });
    }
    expect(perCycle).toEqual({ 'per-cycle': [2, 1], 'per-step': [7, 6] });
  });

  it('re-applies an override that arrived mid-cycle after the cycle, keeping stopped arms on control', async () => {
    const script: ActivityScript = { collectDelayMs: { 2: 3_000 }, decisions: { 2: { stoppedArms: ['treatment'], alerts: 1 } } };
    await withWorkflow('override-mid-cycle', script, {}, async (h, mock) => {
      await cycleDone(h, 1);
      const cycle2 = h.executeUpdate(runCycleNowUpdate, { args: [{}] });
      await waitFor(async () => mock.collectsStarted.includes(2), { what: 'cycle 2 collecting' });
      await h.executeUpdate(overrideAllocationUpdate, { args: [{ weights: { control: 0.4, treatment: 0.6 }, actor: 'ops', reason: 'hold' }] });
      expect((await cycle2).cycle).toBe(2);
      const overrides = mock.calls.filter((c) => c.name === 'publishOverride').map((c) => c.input);
      expect(overrides).toHaveLength(2);
      expect(overrides[0]).not.toHaveProperty('stoppedArms');
      expect(overrides[1]).toMatchObject({ weights: { control: 0.4, treatment: 0.6 }, stoppedArms: ['treatment'], reason: 'hold (re-applied after cycle 2)' });
      // The re-applied override comes after the cycle's last step.
      const names = mock.names();
      expect(names.lastIndexOf('publishOverride')).toBeGreaterThan(names.lastIndexOf('decide'));
      await h.signal(stopSignal, { reason: 'end' });
      await h.result();
    });
  });
});
