/** Step 1: aggregate sufficient statistics in SQL. */
import { cellDesignFor, collectCellStats } from '../infra/aggregates.js';
import { loadExperiment } from '../infra/experiment-repo.js';
import type { CellStats } from '../domain/types.js';
import { writeStepOnce } from './cycle-store.js';
import type { ActivityDeps, CycleRef } from './deps.js';

export interface CollectPayload {
  cells: CellStats[];
  units: number;
  /** Database time just before the aggregation: offline replay recomputes the cells as of it (absent in payloads written before it existed). */
  asOf?: string;
}

export function collectData(d: ActivityDeps) {
  return async ({ experimentKey, cycle }: CycleRef): Promise<{ units: number; cells: number }> => {
    const exp = await loadExperiment(d.prisma, experimentKey);
    const { config } = exp.def;
    const asOf = (await d.pool.query<{ t: Date }>('SELECT now() AS t')).rows[0]!.t.toISOString();
    const cells = await collectCellStats(d.pool, exp.id, config.metrics, cellDesignFor(exp.def));
    const primary = config.metrics.find((m) => m.role === 'primary')!.key;
    const units = cells.filter((c) => c.metric === primary).reduce((a, c) => a + c.moments.n, 0);
    const stored = await writeStepOnce<CollectPayload>(d.prisma, exp.id, cycle, 'collect', { cells, units, asOf });
    return { units: stored.units, cells: stored.cells.length };
  };
}
