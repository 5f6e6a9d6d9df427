/** Step 1: aggregate sufficient statistics in SQL. */
import { cellDesignFor, collectCellStats } from '../infra/aggregates.js';
import { loadExperiment } from '../infra/experiment-repo.js';
import type { CellStats } from '../domain/types.js';
import { writeStepOnce } from './cycle-store.js';
import type { ActivityDeps, CycleRef } from './deps.js';

export interface CollectPayload {
  cells: CellStats[];
  units: number;
  /**
   * What the aggregation could see: database time and the largest Assignment and Event ids just
   * before it. Offline replay recomputes the cells as of them (absent in payloads written before).
   */
  asOf?: string;
  watermark?: { assignmentId: string | null; eventId: string | null };
}

export function collectData(d: ActivityDeps) {
  return async ({ experimentKey, cycle }: CycleRef): Promise<{ units: number; cells: number }> => {
    const exp = await loadExperiment(d.prisma, experimentKey);
    const { config } = exp.def;
    const seen = (await d.pool.query<{ t: Date; a: string | null; e: string | null }>(`SELECT now() AS t, (SELECT max(id) FROM "Assignment")::text AS a, (SELECT max(id) FROM "Event")::text AS e`)).rows[0]!;
    const cells = await collectCellStats(d.pool, exp.id, config.metrics, cellDesignFor(exp.def));
    const primary = config.metrics.find((m) => m.role === 'primary')!.key;
    const units = cells.filter((c) => c.metric === primary).reduce((a, c) => a + c.moments.n, 0);
    const stored = await writeStepOnce<CollectPayload>(d.prisma, exp.id, cycle, 'collect', { cells, units, asOf: seen.t.toISOString(), watermark: { assignmentId: seen.a, eventId: seen.e } });
    return { units: stored.units, cells: stored.cells.length };
  };
}
