/**
 * The Temporal Schedule of a training policy: it starts a retrainingWorkflow for the entity at the
 * policy's frequency. One schedule per entity × model type (id from trainingScheduleId), visible,
 * pausable and triggerable in the Temporal UI's Schedules page as through the API.
 */
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleSpec } from '@temporalio/client';
import { durationMs, type Frequency } from '../domain/training/policy.js';
import type { RetrainingInput } from '../workflows/retraining.js';

function specFor(f: Frequency): ScheduleSpec {
  if (f.cron !== undefined) return { cronExpressions: [f.cron] };
  const every = f.every === undefined ? null : durationMs(f.every);
  if (every === null) throw new Error('frequency: give every or cron');
  return { intervals: [{ every }] };
}

/** Creates the schedule, or rewrites its spec and action if it exists (keeping its paused state). */
export async function upsertTrainingSchedule(
  client: Client,
  opts: { scheduleId: string; taskQueue: string; frequency: Frequency; input: RetrainingInput },
): Promise<'created' | 'updated'> {
  const spec = specFor(opts.frequency);
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'retrainingWorkflow',
    // Temporal appends the scheduled time, so every run has its own id.
    workflowId: opts.scheduleId,
    taskQueue: opts.taskQueue,
    args: [opts.input],
  };
  try {
    // SKIP: a run still waiting on its comparison is not doubled by the next firing; the next one
    // after it picks up whatever is due by then.
    await client.schedule.create({
      scheduleId: opts.scheduleId,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
      state: { note: `retraining ${opts.input.entity}/${opts.input.modelType}` },
    });
    return 'created';
  } catch (e) {
    if (!(e instanceof ScheduleAlreadyRunning)) throw e;
    await client.schedule.getHandle(opts.scheduleId).update((prev) => ({ ...prev, spec, action }));
    return 'updated';
  }
}

/** Deletes the schedule; one already gone is not an error. */
export async function deleteTrainingSchedule(client: Client, scheduleId: string): Promise<void> {
  try {
    await client.schedule.getHandle(scheduleId).delete();
  } catch (e) {
    if (!(e instanceof ScheduleNotFoundError)) throw e;
  }
}

export interface ScheduleState {
  paused: boolean;
  note: string | null;
  nextDue: string | null;
  /** The next few firings (Temporal computes them from the spec). */
  upcoming: string[];
  recentRuns: Array<{ workflowId: string; scheduledAt: string }>;
}

/** The schedule as Temporal has it; null when it does not exist. */
export async function describeTrainingSchedule(client: Client, scheduleId: string): Promise<ScheduleState | null> {
  try {
    const d = await client.schedule.getHandle(scheduleId).describe();
    const upcoming = d.info.nextActionTimes.map((t) => t.toISOString());
    return {
      paused: d.state.paused,
      note: d.state.note ?? null,
      nextDue: d.state.paused ? null : (upcoming[0] ?? null),
      upcoming,
      recentRuns: d.info.recentActions.map((a) => ({
        workflowId: 'workflow' in a.action ? a.action.workflow.workflowId : '',
        scheduledAt: a.scheduledAt.toISOString(),
      })),
    };
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) return null;
    throw e;
  }
}
