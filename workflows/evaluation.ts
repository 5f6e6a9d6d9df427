/**
 * EvaluationWorkflow: one offline evaluation too large to answer inline (id `evaluation-<runId>`).
 * The request and the result live in the EvaluationRun row; the workflow only makes the run durable
 * and visible: the activity exports the dataset and evaluates, retried on infrastructure faults,
 * and records bad input as a failed run without retrying.
 */
import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

const { runEvaluation } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  retry: { maximumAttempts: 3, initialInterval: '5 seconds' },
});
const { failEvaluation } = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 10 } });

export interface EvaluationWorkflowInput {
  runId: string;
}

export async function evaluationWorkflow(input: EvaluationWorkflowInput): Promise<{ status: 'succeeded' | 'failed'; error: string | null }> {
  try {
    return await runEvaluation({ runId: input.runId });
  } catch (err) {
    // Retries exhausted: record the failure so the run never stays "running".
    if (!(err instanceof ActivityFailure)) throw err;
    const error = err.cause?.message ?? err.message;
    await failEvaluation({ runId: input.runId, error });
    return { status: 'failed', error };
  }
}
