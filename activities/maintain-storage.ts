/** The storage maintenance activity: partitions ahead, partitions past the retention, the dedupe window, the signal retention. */
import { planPartitions, retentionStart } from '../domain/storage/partition-plan.js';
import { pruneSignals } from '../infra/context-store.js';
import { createEventPartitions, dropEventPartitions, listEventPartitions } from '../infra/event-partitions.js';
import { pruneEventDedupe } from '../infra/ingest.js';
import type { StorageMaintenanceInput } from '../workflows/storage-maintenance.js';
import type { ActivityDeps } from './deps.js';

export interface StorageMaintenanceResult {
  created: string[];
  dropped: string[];
  dedupePruned: number;
  /** Context signal observations deleted past their retention (absent when the input set none). */
  signalsPruned?: number;
}

export function maintainStorage(d: ActivityDeps) {
  return async (input: StorageMaintenanceInput): Promise<StorageMaintenanceResult> => {
    const now = new Date();
    const plan = planPartitions(await listEventPartitions(d.pool), now, input);
    const created = await createEventPartitions(d.pool, plan.create);
    const dropped = await dropEventPartitions(d.pool, plan.drop);
    const dedupePruned = await pruneEventDedupe(d.pool, input.dedupeWindowSeconds);
    const signalsPruned = input.signalRetentionDays === undefined ? undefined : await pruneSignals(d.pool, retentionStart(now, input.signalRetentionDays));
    return { created, dropped, dedupePruned, ...(signalsPruned === undefined ? {} : { signalsPruned }) };
  };
}
