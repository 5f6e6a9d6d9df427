/** The storage maintenance activity: partitions ahead, partitions past the retention, the dedupe window. */
import { planPartitions } from '../domain/storage/partition-plan.js';
import { createEventPartitions, dropEventPartitions, listEventPartitions } from '../infra/event-partitions.js';
import type { StorageMaintenanceInput } from '../workflows/storage-maintenance.js';
import type { ActivityDeps } from './deps.js';

export interface StorageMaintenanceResult {
  created: string[];
  dropped: string[];
  dedupePruned: number;
}

export function maintainStorage(d: ActivityDeps) {
  return async (input: StorageMaintenanceInput): Promise<StorageMaintenanceResult> => {
    const now = new Date();
    const plan = planPartitions(await listEventPartitions(d.pool), now, input);
    const created = await createEventPartitions(d.pool, plan.create);
    const dropped = await dropEventPartitions(d.pool, plan.drop);
    const pruned = await d.pool.query(
      `DELETE FROM "EventDedupe" WHERE "receivedAt" < (now() AT TIME ZONE 'UTC') - make_interval(secs => $1)`,
      [input.dedupeWindowSeconds],
    );
    return { created, dropped, dedupePruned: pruned.rowCount ?? 0 };
  };
}
