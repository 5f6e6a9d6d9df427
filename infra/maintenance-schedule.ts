/**
 * The Temporal Schedule that runs storage maintenance. Created idempotently when a worker starts
 * (several workers racing agree: the first creates, the others update it to the same spec), so it
 * is visible and pausable in the Temporal UI like any schedule.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { StorageMaintenanceInput } from '../workflows/storage-maintenance.js';

const MAINTENANCE_SCHEDULE_ID = 'expflow-storage-maintenance';

export async function ensureMaintenanceSchedule(
  client: Client,
  opts: { taskQueue: string; input: StorageMaintenanceInput; every?: string; scheduleId?: string },
): Promise<string> {
  const scheduleId = opts.scheduleId ?? MAINTENANCE_SCHEDULE_ID;
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'storageMaintenanceWorkflow',
    workflowId: `${scheduleId}-run`,
    taskQueue: opts.taskQueue,
    args: [opts.input],
  };
  const spec = { intervals: [{ every: opts.every ?? '1h' }] };
  try {
    await client.schedule.create({ scheduleId, spec, action, policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' } });
  } catch (e) {
    if (!(e instanceof ScheduleAlreadyRunning)) throw e;
    await client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action }));
  }
  return scheduleId;
}
