/**
 * The context side of the workflows on the real Temporal dev server with scripted activities:
 * ContextSourceWorkflow (one poll; a failed poll is recorded, then fails the run) and the
 * experiment workflow's external-context signal carrying a reaction rule's own half-life.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextSourceWorkflow } from '../../workflows/context-source.js';
import { experimentWorkflow } from '../../workflows/experiment.js';
import { externalContextSignal, statusQuery, stopSignal } from '../../workflows/experiment-messages.js';
import { testConfig, uniqueSuffix, waitFor } from '../helpers/services.js';
import { workflowWorker } from '../helpers/workflow-worker.js';
import { mockActivities, type ActivityScript } from './mock-activities.js';

const config = testConfig();
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createFromExistingServer({ address: config.temporalAddress });
});
afterAll(async () => {
  await env?.teardown();
});

async function withWorker<T>(script: ActivityScript, body: (taskQueue: string, mock: ReturnType<typeof mockActivities>) => Promise<T>): Promise<T> {
  const taskQueue = `ctx-wf-${uniqueSuffix()}`;
  const mock = mockActivities(script);
  const worker = await workflowWorker(env, taskQueue, mock.activities);
  return worker.runUntil(() => body(taskQueue, mock));
}

describe('ContextSourceWorkflow', () => {
  it('polls once and reports what it stored', async () => {
    await withWorker({}, async (taskQueue, mock) => {
      const r = await env.client.workflow.execute(contextSourceWorkflow, { taskQueue, workflowId: `context-source-ok-${uniqueSuffix()}`, args: [{ sourceKey: 'feed' }] });
      expect(r).toEqual({ fetched: 1, stored: 1, reactions: 0 });
      expect(mock.names()).toEqual(['pollContextSource']);
    });
  });

  it('records a failed poll on the source, then fails the run', async () => {
    await withWorker({ pollFailure: 'GET http://feed: HTTP 503' }, async (taskQueue, mock) => {
      const err = await env.client.workflow
        .execute(contextSourceWorkflow, { taskQueue, workflowId: `context-source-bad-${uniqueSuffix()}`, args: [{ sourceKey: 'feed' }] })
        .then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(((err as WorkflowFailedError).cause as Error).message).toBe('polling feed failed: GET http://feed: HTTP 503');
      expect(mock.names()).toEqual(['pollContextSource', 'recordContextSourceFailure']);
      expect(mock.calls[1]!.input).toMatchObject({ sourceKey: 'feed', message: 'GET http://feed: HTTP 503' });
    });
  });
});

describe('external context with a rule half-life', () => {
  it('keeps the rule half-life on the event, shows the dampening in status and passes it to reallocation', async () => {
    await withWorker({}, async (taskQueue, mock) => {
      const key = `ctx-rule-${uniqueSuffix()}`;
      const h = await env.client.workflow.start(experimentWorkflow, {
        taskQueue,
        workflowId: `experiment-${key}`,
        args: [{ experimentKey: key, kind: 'ab', variants: ['control', 'treatment'], cycleIntervalMs: 3_600_000, maxCycles: 100, continueAsNewEvery: 100 }],
      });
      await waitFor(async () => (await h.query(statusQuery)).cycle >= 1, { what: 'cycle 1' });
      expect((await h.query(statusQuery)).dampening).toEqual({ factor: 0, events: [] });
      await h.signal(externalContextSignal, { kind: 'signal news.sentiment = -0.9 below -0.5', severity: 0.6, halfLifeSeconds: 60 });
      const s = await waitFor(async () => {
        const q = await h.query(statusQuery);
        return q.cycle >= 2 ? q : null;
      }, { what: 'the cycle the signal wakes' });
      expect(s.dampening.events).toEqual([expect.objectContaining({ severity: 0.6, halfLifeMs: 60_000 })]);
      // Decays with the rule's 60 s half-life, not the experiment's hour.
      const age = Date.now() - Date.parse(s.dampening.events[0]!.at);
      expect(s.dampening.factor).toBeCloseTo(0.6 * 2 ** (-age / 60_000), 2);
      expect(s.dampening.factor).toBeGreaterThan(0.3);
      const realloc = mock.calls.filter((c) => c.name === 'reallocateTraffic').at(-1)!;
      expect(realloc.input.externalEvents).toEqual([expect.objectContaining({ halfLifeMs: 60_000 })]);
      await h.signal(stopSignal, { actor: 't', reason: 'done' });
      await h.result();
    });
  });
});
