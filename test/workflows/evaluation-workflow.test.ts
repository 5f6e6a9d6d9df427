/**
 * evaluationWorkflow on the real Temporal dev server: it runs the evaluation activity, and when the
 * activity's retries run out it records the run as failed instead of leaving it "running".
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluationWorkflow } from '../../workflows/evaluation.js';
import { testConfig, uniqueSuffix } from '../helpers/services.js';
import { workflowWorker } from '../helpers/workflow-worker.js';
import { mockActivities } from './mock-activities.js';

const config = testConfig();
let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await TestWorkflowEnvironment.createFromExistingServer({ address: config.temporalAddress });
});
afterAll(async () => {
  await env?.teardown();
});

async function run(runEvaluation: () => Promise<{ status: 'succeeded' | 'failed'; error: string | null }>) {
  const taskQueue = `eval-${uniqueSuffix()}`;
  const mock = mockActivities();
  const activities = { ...mock.activities, runEvaluation };
  const worker = await workflowWorker(env, taskQueue, activities);
  const result = await worker.runUntil(env.client.workflow.execute(evaluationWorkflow, { workflowId: `evaluation-${uniqueSuffix()}`, taskQueue, args: [{ runId: 'run-1' }] }));
  return { result, calls: mock.calls };
}

describe('evaluationWorkflow', () => {
  it('returns the activity result', async () => {
    const { result, calls } = await run(async () => ({ status: 'succeeded', error: null }));
    expect(result).toEqual({ status: 'succeeded', error: null });
    expect(calls.filter((c) => c.name === 'failEvaluation')).toEqual([]);
  });

  it('records the run as failed when the activity keeps failing', async () => {
    const { result, calls } = await run(async () => {
      throw ApplicationFailure.nonRetryable('disk full', 'Io');
    });
    expect(result).toEqual({ status: 'failed', error: 'disk full' });
    expect(calls.filter((c) => c.name === 'failEvaluation').map((c) => c.input)).toEqual([{ runId: 'run-1', error: 'disk full' }]);
  });
});
