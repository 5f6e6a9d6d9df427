/**
 * ContextSourceWorkflow: one poll of an external context source, started by the Temporal Schedule
 * `context-source-<key>` at the source's interval (overlapping runs are skipped). The poll activity
 * retries with backoff; a poll that still fails is recorded on the source and the run fails, so it
 * shows in the Temporal UI next to the schedule.
 */
import { ActivityFailure, ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

export interface ContextSourceInput {
  sourceKey: string;
}

const { pollContextSource } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 3, nonRetryableErrorTypes: ['InvalidConfig'] },
});
const { recordContextSourceFailure } = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 5 } });

export async function contextSourceWorkflow(input: ContextSourceInput): Promise<{ fetched: number; stored: number; reactions: number }> {
  try {
    const r = await pollContextSource(input);
    return { fetched: r.fetched, stored: r.stored, reactions: r.reactions.filter((x) => x.outcome === 'signalled').length };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const message = err.cause?.message ?? err.message;
    await recordContextSourceFailure({ sourceKey: input.sourceKey, message, runId: workflowInfo().runId });
    // Fail this run (visible in the UI); the schedule starts the next one at the next interval.
    throw ApplicationFailure.nonRetryable(`polling ${input.sourceKey} failed: ${message}`, 'ContextSourcePollFailed');
  }
}
