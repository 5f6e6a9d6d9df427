/**
 * The report's incremental rollup equals the full aggregate over every unit and event
 * (loadReportCells, what reports computed before the rollup) after every refresh: random rounds
 * of new units and of events for old and not-yet-exposed units, a context attribute that appears
 * only in later rounds (backfilled), one that outgrows the value limit (dropped), post-stratified
 * cells, a changed metric list (rebuilt) and a deleted rollup (rebuilt).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createRng } from '../../domain/rng.js';
import type { CellStats, MetricSpec } from '../../domain/types.js';
import { writeEvents, writeExposures } from '../../infra/ingest.js';
import { createPool } from '../../infra/pg.js';
import { loadReportCells } from '../../infra/report-loader.js';
import { readReportCells, type ReportCells } from '../../infra/report-rollup.js';
import { refreshUnitAggregates, type AggregateSpec } from '../../infra/unit-aggregates.js';
import { insertExperiment } from '../helpers/seed-data.js';
import { testConfig, uniqueSuffix, waitFor } from '../helpers/services.js';

const pool = createPool(testConfig().databaseUrl, 4);
afterAll(() => pool.end());

type Keyed = { key: string; sum: number; ss: number };
function keyed(c: ReportCells): Keyed[] {
  const k = (x: CellStats, f: string, v: string) => ({
    key: [f, v, x.metric, x.variant, x.segment, x.period, x.propensityStratum ?? '-', x.stratum ?? '-', x.moments.n].join('|'),
    sum: x.moments.sum,
    ss: x.moments.sumSquares,
  });
  return [...c.dailyCells.map((x) => k(x, 'day', x.day)), ...c.factorCells.map((x) => k(x, x.factor, x.value))].sort((a, b) => a.key.localeCompare(b.key));
}

/** The rollup against the full computation over the units the refresh that returned `hi` counted. */
async function expectSame(id: string, metrics: MetricSpec[], design: { control: string; contextual: boolean; postStratify: string[] }, hi: string) {
  const rolled = await readReportCells(pool, id);
  expect(rolled).not.toBeNull();
  const full = await loadReportCells(pool, id, metrics, design, { hi });
  const a = keyed(rolled!);
  const b = keyed(full);
  expect(a.map((x) => x.key)).toEqual(b.map((x) => x.key));
  a.forEach((x, i) => {
    expect(x.sum).toBeCloseTo(b[i]!.sum, 8);
    expect(x.ss).toBeCloseTo(b[i]!.ss, 8);
  });
  expect(rolled!.skippedFactors).toEqual(full.skippedFactors);
  return a.length;
}

describe('report rollup', () => {
  it('equals the full aggregate after every incremental refresh', async () => {
    const s = uniqueSuffix();
    const key = `rollup-${s}`;
    const id = await insertExperiment(pool, key);
    const metric = (k: string, type: MetricSpec['type']): MetricSpec => ({ key: k, event: `${k}-${s}`, type, role: 'primary', direction: 'increase' });
    let metrics = [metric('buy', 'binary'), metric('rev', 'continuous'), metric('view', 'count')];
    const design = { control: 'control', contextual: false, postStratify: ['tier'] };
    const specOf = (ms: MetricSpec[]): AggregateSpec => ({
      names: ms.map((m) => m.event).sort(),
      lookbackSeconds: 600,
      windowSeconds: 6 * 3600,
      report: { metrics: ms.map((m) => ({ key: m.key, event: m.event, type: m.type })), design },
    });
    const rng = createRng(17);
    const base = Date.now() - 30 * 3_600_000;
    const at = (min: number) => new Date(base + min * 60_000).toISOString();
    let units = 0;
    let events = 0;
    const exposedAt: number[] = [];
    for (let round = 0; round < 7; round++) {
      const fresh = Array.from({ length: 12 }, () => {
        const u = units++;
        const minute = u * 17; // spread over hours and days
        exposedAt.push(minute);
        return {
          experiment: key, unitId: `${s}-u${u}`, variant: u % 3 === 0 ? 'control' : u % 3 === 1 ? 'b' : 'c', propensity: 1 / 3, segment: u % 2,
          snapshotVersion: 1 + (round >> 1),
          // `session` has a value per unit: broken down until it has more than 50, then dropped;
          // `device` only appears from round 3 on: backfilled over earlier units (who lack it).
          context: { country: ['PT', 'US', 'DE'][u % 3]!, tier: u % 4 === 0 ? 'gold' : 'std', session: `s${u}`, ...(round >= 3 ? { device: u % 2 ? 'ios' : 'web' } : {}) },
          assignedAt: at(minute),
        };
      });
      // Events for earlier units, this round's, and a few not exposed yet (counted once they are).
      const evs = Array.from({ length: 40 }, () => {
        const u = Math.floor(rng() * (units + 6));
        const m = metrics[Math.floor(rng() * metrics.length)]!;
        const minute = (exposedAt[u] ?? u * 17) + Math.floor(rng() * 120) - 5;
        return { eventId: `${s}-e${events++}`, unitId: `${s}-u${u}`, name: m.event, value: Math.round(rng() * 1000) / 100, timestamp: at(minute) };
      });
      if (round % 2) {
        await writeEvents(pool, evs);
        await writeExposures(pool, fresh);
      } else {
        await writeExposures(pool, fresh);
        await writeEvents(pool, evs);
      }
      const { hi } = await refreshUnitAggregates(pool, id, specOf(metrics));
      expect(await expectSame(id, metrics, design, hi)).toBeGreaterThan(0);
    }
    // Every unit written is counted (once other suites' open transactions no longer hold it back).
    const counted = async () => ((await readReportCells(pool, id))?.dailyCells ?? []).filter((c) => c.metric === 'buy').reduce((a, c) => a + c.moments.n, 0);
    await waitFor(async () => (await refreshUnitAggregates(pool, id, specOf(metrics))) && (await counted()) === units, { what: 'every unit in the rollup' });
    const last = await readReportCells(pool, id);
    expect(last!.skippedFactors).toEqual(['context.session']);
    expect(new Set(last!.factorCells.map((c) => c.factor))).toEqual(new Set(['hour', 'weekday', 'context.country', 'context.tier', 'context.device']));
    // Nothing new: a refresh leaves the rollup as it was.
    const before = keyed(last!);
    await refreshUnitAggregates(pool, id, specOf(metrics));
    expect(keyed((await readReportCells(pool, id))!)).toEqual(before);

    // Another metric list: rebuilt, and still equal.
    metrics = metrics.slice(0, 2);
    const rebuilt = await refreshUnitAggregates(pool, id, specOf(metrics));
    await expectSame(id, metrics, design, rebuilt.hi);

    // A deleted rollup (unit erasure drops it) is rebuilt by the next refresh.
    await pool.query(`DELETE FROM "ReportRollup" WHERE "experimentId" = $1`, [id]);
    expect(await readReportCells(pool, id)).toBeNull();
    const again = await refreshUnitAggregates(pool, id, specOf(metrics));
    await expectSame(id, metrics, design, again.hi);

    // A refresh without the report spec drops the rollup (it could not keep it current).
    await refreshUnitAggregates(pool, id, { ...specOf(metrics), report: undefined });
    expect(await readReportCells(pool, id)).toBeNull();
  });
});
