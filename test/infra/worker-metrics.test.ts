/**
 * The worker's exposure counter counts the rows the writer inserted, per arm. A batch holding a
 * repeat (a unit assigned twice before its first exposure was stored, e.g. when the sticky lookup
 * timed out under load) used to count nothing at all, so /metrics fell behind the Assignment table.
 */
import { describe, expect, it } from 'vitest';
import { createWorkerMetrics } from '../../infra/metrics.js';

async function exposuresOf(metrics: ReturnType<typeof createWorkerMetrics>): Promise<Record<string, number>> {
  const m = await metrics.registry.getSingleMetric('expflow_exposures_written_total')!.get();
  return Object.fromEntries(m.values.map((v) => [`${v.labels.experiment}/${v.labels.variant}`, v.value]));
}

describe('worker metrics: exposures written', () => {
  it('counts the inserted rows of a batch that also held a repeat', async () => {
    const metrics = createWorkerMetrics({ queueDepth: async () => [] });
    const items = [
      { experiment: 'x', variant: 'control' },
      { experiment: 'x', variant: 'treatment' },
      { experiment: 'x', variant: 'treatment' },
    ];
    metrics.ingested({ kind: 'exposures', items }, 2, 0.1, [
      { experiment: 'x', variant: 'control', n: 1 },
      { experiment: 'x', variant: 'treatment', n: 1 },
    ]);
    expect(await exposuresOf(metrics)).toEqual({ 'x/control': 1, 'x/treatment': 1 });
  });

  it('counts a fully written batch by its items when the writer gives no breakdown', async () => {
    const metrics = createWorkerMetrics({ queueDepth: async () => [] });
    metrics.ingested({ kind: 'exposures', items: [{ experiment: 'y', variant: 'a' }, { experiment: 'y', variant: 'a' }] }, 2, 0.1);
    expect(await exposuresOf(metrics)).toEqual({ 'y/a': 2 });
  });
});
