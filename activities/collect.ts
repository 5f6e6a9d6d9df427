/** Step 1: aggregate sufficient statistics in SQL. */
import { cellDesignOf, collectCellStats } from '../infra/aggregates.js';
import { experimentAggregateSpec, refreshUnitAggregates } from '../infra/unit-aggregates.js';
import { loadExperiment } from '../infra/experiment-repo.js';
import type { CellStats } from '../domain/types.js';
import { runStepOnce } from '../infra/cycle-store.js';
import { collectPayloadSchema } from './step-payloads.js';
import type { ActivityDeps, CycleRef } from './deps.js';

export interface CollectPayload {
  cells: CellStats[];
  units: number;
  /**
   * The transaction-id watermark the cells were read below (rows with txid < hi): offline replay
   * recomputes the cycle's cells from the logged rows under it (absent in payloads written before).
   */
  watermark?: string;
}

export function collectData(d: ActivityDeps) {
  return async ({ experimentKey, cycle }: CycleRef): Promise<{ units: number; cells: number }> => {
    const exp = await loadExperiment(d.prisma, experimentKey);
    const stepRef = { prisma: d.prisma, experimentId: exp.id, cycle };
    const stored = await runStepOnce(stepRef, 'collect', collectPayloadSchema, async () => {
      const { config } = exp.def;
      // Events reach the cells through the per-unit aggregates, brought up to date first (cost grows
      // with what arrived since the last cycle, not with the history). Two-arm contextual
      // experiments randomise each unit with its context leaf's weights: the cells are split by
      // that treatment share (see collectCellStats and cellDesignOf).
      const asOf = await refreshUnitAggregates(d.pool, exp.id, experimentAggregateSpec(exp));
      const cells = await collectCellStats(d.pool, exp.id, config.metrics, cellDesignOf(exp), asOf);
      const primary = config.metrics.find((m) => m.role === 'primary')!.key;
      const units = cells.filter((c) => c.metric === primary).reduce((a, c) => a + c.moments.n, 0);
      return { cells, units, watermark: asOf.hi };
    });
    return { units: stored.units, cells: stored.cells.length };
  };
}
