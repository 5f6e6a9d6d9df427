/**
 * Why a steering update (run-cycle, override, conclude…) got no answer in time. Two causes need
 * opposite responses: no worker polls the experiment's task queue (503 worker_unavailable: start
 * one, then retry), or a worker took the update and the workflow is still working on it, a slow or
 * retrying cycle (504 update_timeout: it completes on its own; a retry would queue another cycle).
 * Temporal's DescribeTaskQueue lists the queue's recent pollers, DescribeWorkflowExecution the
 * activities in flight.
 */
import type { Client } from '@temporalio/client';
import { ApiError } from './errors.js';

/** A worker long-polls for about a minute at a time: one seen within this window is polling. */
const POLLER_FRESH_MS = 120_000;
/** The diagnosis must not turn a timeout into a second long wait. */
const DIAGNOSIS_DEADLINE_MS = 3_000;
/** DescribeTaskQueueRequest.taskQueueType: TASK_QUEUE_TYPE_WORKFLOW. */
const WORKFLOW_TASK_QUEUE = 1;

export interface StuckWorkflow {
  taskQueue: string | null;
  /** Milliseconds since each poller last polled the workflow task queue. */
  pollerAgesMs: number[];
  pending: Array<{ activity: string; attempt: number; lastFailure: string | null }>;
  /** The attempt of a workflow task the worker keeps failing (a workflow bug), when there is one. */
  failingWorkflowTaskAttempt: number | null;
}

/** The answer for an update that timed out after `timeoutMs`, given what the server reported (null: it could not say). */
export function steeringTimeoutError(timeoutMs: number, stuck: StuckWorkflow | null): ApiError {
  const seconds = timeoutMs / 1000;
  const unavailable = (why: string) =>
    new ApiError(503, 'worker_unavailable', `no answer within ${seconds} s: ${why}; the request is applied when a worker polls`, null, { 'retry-after': '5' });
  if (!stuck) return unavailable('the Temporal server did not say whether a worker polls the experiment\'s task queue');
  const queue = stuck.taskQueue ?? '?';
  if (!stuck.pollerAgesMs.some((age) => age <= POLLER_FRESH_MS)) {
    return unavailable(`no worker has polled task queue '${queue}' in the last ${POLLER_FRESH_MS / 1000} s`);
  }
  const work = [
    ...stuck.pending.map((p) => `${p.activity} attempt ${p.attempt}${p.lastFailure ? ` (last failure: ${p.lastFailure})` : ''}`),
    ...(stuck.failingWorkflowTaskAttempt ? [`workflow task attempt ${stuck.failingWorkflowTaskAttempt}: the worker keeps failing it, see its log`] : []),
  ];
  return new ApiError(
    504,
    'update_timeout',
    `a worker polls task queue '${queue}', but the workflow did not finish the request within ${seconds} s (${work.join('; ') || 'no activity in flight'}); ` +
      'it goes on by itself: follow GET /experiments/:key rather than sending it again',
    { taskQueue: queue, pending: stuck.pending, failingWorkflowTaskAttempt: stuck.failingWorkflowTaskAttempt },
  );
}

/** What the server says about the workflow's task queue and activities; null when it cannot say in time. */
export async function describeStuckWorkflow(temporal: Client, workflowId: string): Promise<StuckWorkflow | null> {
  try {
    return await temporal.connection.withDeadline(Date.now() + DIAGNOSIS_DEADLINE_MS, async () => {
      const d = await temporal.workflow.getHandle(workflowId).describe();
      const res = await temporal.workflowService.describeTaskQueue({
        namespace: temporal.options.namespace,
        taskQueue: { name: d.taskQueue },
        taskQueueType: WORKFLOW_TASK_QUEUE,
      });
      const now = Date.now();
      const pollerAgesMs = (res.pollers ?? []).map((p) => {
        const s = p.lastAccessTime?.seconds;
        return s == null ? Number.POSITIVE_INFINITY : now - Number(s) * 1000;
      });
      const pending = (d.raw.pendingActivities ?? []).map((a) => ({
        activity: a.activityType?.name ?? '?',
        attempt: a.attempt ?? 1,
        lastFailure: a.lastFailure?.message ?? null,
      }));
      const wft = d.raw.pendingWorkflowTask?.attempt ?? 0;
      return { taskQueue: d.taskQueue, pollerAgesMs, pending, failingWorkflowTaskAttempt: wft > 1 ? wft : null };
    });
  } catch {
    return null;
  }
}
