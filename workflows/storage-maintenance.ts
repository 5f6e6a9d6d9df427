/**
 * Storage maintenance, run by a Temporal Schedule (infra/maintenance-schedule.ts): creates the
 * coming days' Event partitions, drops those past the retention, and prunes the dedupe table past
 * its window, and deletes context signals past their retention. One activity does the work; the workflow exists so runs are visible, retried and
 * reported in the Temporal UI like every other job.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

export interface StorageMaintenanceInput {
  retentionDays: number;
  daysAhead: number;
  dedupeWindowSeconds: number;
  /** Days of context signals kept (each series' newest observation stays); absent: kept forever (schedules created before this field). */
  signalRetentionDays?: number;
}

const { maintainStorage } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 10 },
});

export async function storageMaintenanceWorkflow(input: StorageMaintenanceInput) {
  return await maintainStorage(input);
}
