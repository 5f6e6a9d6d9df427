/**
 * The incremental per-unit aggregates equal a full recomputation, whatever order exposures and
 * events arrive and commit in: random rounds of exposures and events (some before their unit's
 * exposure, some outside the window, some scoped to another experiment), a transaction held open
 * across a refresh, and a refresh after every round.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createRng } from '../../domain/rng.js';
import type { OutcomeEvent } from '../../infra/queues.js';
import { eventCountsFor, writeEvents, writeExposures } from '../../infra/ingest.js';
import { createPool } from '../../infra/pg.js';
import { refreshUnitAggregates, type AggregateSpec } from '../../infra/unit-aggregates.js';
import { insertExperiment } from '../helpers/seed-data.js';
import { testConfig, uniqueSuffix } from '../helpers/services.js';

const pool = createPool(testConfig().databaseUrl, 4);
afterAll(() => pool.end());

/**
 * The definition, computed from scratch over every stored row written by transactions below `hi`
 * (what a refresh returning `hi` must have counted; other suites' open transactions may hold it back).
 */
async function fullRecompute(experimentId: string, spec: AggregateSpec, hi: string): Promise<string[]> {
  const r = await pool.query<{ k: string }>(
    `SELECT e."unitId" || '|' || e.name || '|' || COUNT(*) || '|' || round(SUM(e.value)::numeric, 6) AS k
     FROM "Event" e JOIN "Assignment" a ON a."experimentId" = $1 AND a."unitId" = e."unitId" AND a.txid < $5::bigint
     WHERE e.name = ANY($2::text[]) AND ${eventCountsFor('e', '$1::uuid')} AND e.txid < $5::bigint
       AND e."timestamp" >= a."assignedAt" - make_interval(secs => $3)
       AND ($4::float8 IS NULL OR e."timestamp" <= a."assignedAt" + make_interval(secs => $4))
     GROUP BY e."unitId", e.name ORDER BY 1`,
    [experimentId, spec.names, spec.lookbackSeconds, spec.windowSeconds, hi],
  );
  return r.rows.map((x) => x.k);
}

async function stored(experimentId: string): Promise<string[]> {
  const r = await pool.query<{ k: string }>(
    `SELECT "unitId" || '|' || name || '|' || count::bigint || '|' || round(sum::numeric, 6) AS k FROM "UnitEventAggregate" WHERE "experimentId" = $1 ORDER BY 1`, [experimentId]);
  return r.rows.map((x) => x.k);
}

describe('refreshUnitAggregates', () => {
  it('matches a full recomputation over random arrival orders, with a transaction open across a refresh', async () => {
    const s = uniqueSuffix();
    const key = `agg-${s}`;
    const other = `agg-other-${s}`;
    const id = await insertExperiment(pool, key);
    await insertExperiment(pool, other);
    const spec: AggregateSpec = { names: [`buy-${s}`, `view-${s}`], lookbackSeconds: 600, windowSeconds: 3600 };
    const rng = createRng(7);
    const base = Date.now() - 6 * 3_600_000;
    const at = (offsetMin: number) => new Date(base + offsetMin * 60_000).toISOString();
    const exposedAt = new Map<number, number>();
    let n = 0;
    for (let round = 0; round < 6; round++) {
      // Exposures for some new units (assigned at minute 60 + u).
      const exposures = [];
      for (let k = 0; k < 8; k++) {
        const u = Math.floor(rng() * 40);
        if (exposedAt.has(u)) continue;
        exposedAt.set(u, 60 + u);
        exposures.push({ experiment: key, unitId: `${s}-u${u}`, variant: 'control', propensity: 0.5, segment: 0, snapshotVersion: 1, context: {}, assignedAt: at(60 + u) });
      }
      // Events for any unit (exposed or not yet), around its would-be exposure time.
      const events = Array.from({ length: 30 }, () => {
        const u = Math.floor(rng() * 40);
        const minute = 60 + u + Math.floor(rng() * 100) - 20; // from 20 min before to 80 after
        return {
          eventId: `${s}-e${n++}`, unitId: `${s}-u${u}`, name: rng() < 0.8 ? spec.names[Math.floor(rng() * 2)]! : `other-${s}`,
          value: Math.round(rng() * 100) / 10, timestamp: at(minute), ...(rng() < 0.15 ? { experiment: rng() < 0.5 ? key : other } : {}),
        };
      });
      // Half the rounds write events first, then exposures; and one round keeps a transaction open.
      if (round % 2) {
        await writeEvents(pool, events);
        await writeExposures(pool, exposures);
      } else {
        await writeExposures(pool, exposures);
        await writeEvents(pool, events);
      }
      if (round === 3) {
        const open = await pool.connect();
        try {
          await open.query('BEGIN');
          await open.query(`INSERT INTO "Event" ("eventId", "unitId", name, value, "timestamp") VALUES ($1, $2, $3, 5, $4)`,
            [`${s}-late`, `${s}-u${[...exposedAt.keys()][0]}`, spec.names[0], at(60 + [...exposedAt.keys()][0]! + 5)]);
          await refreshUnitAggregates(pool, id, spec, { maxWaitMs: 0 }); // cannot see it, must not skip it later
          await open.query('COMMIT');
        } finally {
          open.release();
        }
      }
      const { hi } = await refreshUnitAggregates(pool, id, spec);
      expect(await stored(id)).toEqual(await fullRecompute(id, spec, hi));
    }
    expect((await stored(id)).length).toBeGreaterThan(10);
    // A changed window rebuilds from scratch, and still matches.
    const wider = { ...spec, windowSeconds: null };
    const rebuilt = await refreshUnitAggregates(pool, id, wider);
    expect(rebuilt.rebuilt).toBe(true);
    expect(await stored(id)).toEqual(await fullRecompute(id, wider, rebuilt.hi));
    // Everything this test wrote has been counted (the refresh waited for earlier transactions).
    const ours = await pool.query<{ max: string }>(`SELECT max(txid)::text AS max FROM "Event" WHERE "eventId" LIKE $1`, [`${s}-%`]);
    expect(BigInt(rebuilt.hi)).toBeGreaterThan(BigInt(ours.rows[0]!.max));
  });
});

describe('one eventId, unrestricted and restricted', () => {
  it('counts once per experiment whatever the order, in one batch or concurrent ones', async () => {
    const s = uniqueSuffix();
    const [keyA, keyB] = [`once-a-${s}`, `once-b-${s}`];
    const [a, b] = [await insertExperiment(pool, keyA), await insertExperiment(pool, keyB)];
    const name = `buy-${s}`;
    const spec: AggregateSpec = { names: [name], lookbackSeconds: 3600, windowSeconds: null };
    const t = new Date(Date.now() - 60_000).toISOString();
    const unit = (k: string) => `${s}-${k}`;
    const e = (id: string, u: string, experiment?: string): OutcomeEvent => ({ eventId: `${s}-${id}`, unitId: unit(u), name, value: 2, timestamp: t, ...(experiment ? { experiment } : {}) });
    const units = ['then', 'first', 'batch', 'legacy', ...Array.from({ length: 40 }, (_, i) => `c${i}`)];
    for (const key of [keyA, keyB]) {
      await writeExposures(pool, units.map((u) => ({ experiment: key, unitId: unit(u), variant: 'control', propensity: 0.5, segment: 0, snapshotVersion: 1, context: {}, assignedAt: new Date(Date.now() - 120_000).toISOString() })));
    }
    // Unrestricted first, then a restricted copy in a later batch.
    await writeEvents(pool, [e('x1', 'then')]);
    await writeEvents(pool, [e('x1', 'then', keyA)]);
    // Restricted first, then the unrestricted form: it still counts for B, not again for A.
    await writeEvents(pool, [e('x2', 'first', keyA)]);
    await writeEvents(pool, [e('x2', 'first')]);
    // Both forms in one batch.
    await writeEvents(pool, [e('x3', 'batch', keyA), e('x3', 'batch')]);
    // A per-experiment sender (one restricted copy per experiment) still counts in each.
    await writeEvents(pool, [e('x4', 'legacy', keyA), e('x4', 'legacy', keyB)]);
    // Concurrent batches, each form of every eventId in a different batch, in shuffled orders.
    const rng = createRng(11);
    const forms = Array.from({ length: 40 }, (_, i) => [e(`c${i}`, `c${i}`), e(`c${i}`, `c${i}`, keyA), e(`c${i}`, `c${i}`, keyB)]).flat();
    const batches: OutcomeEvent[][] = Array.from({ length: 8 }, () => []);
    for (const f of forms.sort(() => rng() - 0.5)) batches[Math.floor(rng() * 8)]?.push(f);
    expect(batches.flat()).toHaveLength(forms.length);
    await Promise.all(batches.map((batch) => writeEvents(pool, batch)));

    for (const id of [a, b]) {
      await refreshUnitAggregates(pool, id, spec);
      const counts = await pool.query<{ unitId: string; count: number; sum: number }>(`SELECT "unitId", count, sum FROM "UnitEventAggregate" WHERE "experimentId" = $1 ORDER BY 1`, [id]);
      expect(counts.rows.map((r) => `${r.unitId}:${r.count}:${r.sum}`).sort(), id === a ? 'experiment A' : 'experiment B').toEqual(units.map((u) => `${unit(u)}:1:2`).sort());
      // A rebuild reads the same rows the same way.
      const rebuilt = await refreshUnitAggregates(pool, id, { ...spec, lookbackSeconds: 7200 });
      expect(rebuilt.rebuilt).toBe(true);
      expect((await stored(id)).sort()).toEqual(units.map((u) => `${unit(u)}|${name}|1|2.000000`).sort());
    }
  });
});

