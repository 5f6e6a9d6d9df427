/**
 * The event and exposure writers on the real PostgreSQL: dedupe within the window, poison rows
 * isolated by bisection into dead letters with every good row written, and concurrent overlapping
 * batches that cannot deadlock.
 */
import { describe, expect, it } from 'vitest';
import { writeEvents, writeExposures, writeJob } from '../../infra/ingest.js';
import type { OutcomeEvent } from '../../infra/queues.js';
import { createPool } from '../../infra/pg.js';
import { insertExperiment } from '../helpers/seed-data.js';
import { testConfig, uniqueSuffix } from '../helpers/services.js';
import { afterAll } from 'vitest';

const pool = createPool(testConfig().databaseUrl, 12);
afterAll(() => pool.end());

const ev = (id: string, unitId: string, extra: Partial<OutcomeEvent> = {}): OutcomeEvent => ({
  eventId: id, unitId, name: 'writer-test', value: 1, timestamp: new Date().toISOString(), ...extra,
});

async function storedIds(prefix: string): Promise<string[]> {
  const r = await pool.query<{ eventId: string }>(`SELECT "eventId" FROM "Event" WHERE "eventId" LIKE $1 ORDER BY 1`, [`${prefix}%`]);
  return r.rows.map((x) => x.eventId);
}

async function deadLetters(prefix: string): Promise<Array<{ payload: any; reason: string }>> {
  const r = await pool.query<{ payload: string; reason: string }>(`SELECT payload, reason FROM "DeadLetter" WHERE payload LIKE $1 ORDER BY id`, [`%${prefix}%`]);
  return r.rows.map((x) => ({ payload: JSON.parse(x.payload), reason: x.reason }));
}

describe('writeEvents', () => {
  it('counts an eventId once within the dedupe window, and again after it', async () => {
    const p = `dd-${uniqueSuffix()}`;
    const first = await writeEvents(pool, [ev(`${p}-1`, 'u1'), ev(`${p}-1`, 'u1'), ev(`${p}-2`, 'u1')]);
    expect(first).toEqual({ written: 2, duplicates: 1, deadLettered: 0 });
    // A retry with another (server-assigned) timestamp is still the same event.
    const retry = await writeEvents(pool, [ev(`${p}-1`, 'u1', { timestamp: new Date(Date.now() - 5000).toISOString() })]);
    expect(retry).toEqual({ written: 0, duplicates: 1, deadLettered: 0 });
    expect(await storedIds(p)).toEqual([`${p}-1`, `${p}-2`]);
    // Past the window the id is new again.
    await pool.query(`UPDATE "EventDedupe" SET "receivedAt" = "receivedAt" - interval '8 days' WHERE "eventId" = $1`, [`${p}-1`]);
    expect((await writeEvents(pool, [ev(`${p}-1`, 'u1')])).written).toBe(1);
    expect(await storedIds(p)).toEqual([`${p}-1`, `${p}-1`, `${p}-2`]);
  });

  it('writes every good row of a batch with a NUL poison row and dead-letters that row with the reason', async () => {
    const p = `nul-${uniqueSuffix()}`;
    const batch = Array.from({ length: 200 }, (_, i) => ev(`${p}-${String(i).padStart(3, '0')}`, `u${i}`));
    batch[57] = ev(`${p}-057`, 'a\u0000b');
    batch[140] = ev(`${p}-140`, 'u140', { context: { city: 'Lis\u0000bon' } });
    const out = await writeEvents(pool, batch);
    expect(out).toEqual({ written: 198, duplicates: 0, deadLettered: 2 });
    const ids = await storedIds(p);
    expect(ids).toHaveLength(198);
    expect(ids).not.toContain(`${p}-057`);
    expect(ids).not.toContain(`${p}-140`);
    const dead = await deadLetters(p);
    expect(dead.map((d) => d.payload.eventId)).toEqual([`${p}-057`, `${p}-140`]);
    expect(dead[0]!.payload.unitId).toBe('a\u0000b'); // kept exactly, for a fixed replay
    expect(dead[0]!.reason).toMatch(/0x00|invalid byte sequence/);
    expect(dead[1]!.reason).toMatch(/\\u0000|Unicode escape/);
  });

  it('isolates a row Postgres refuses for another reason (a trigger) and writes the rest', async () => {
    const p = `trg-${uniqueSuffix()}`;
    const fn = `reject_${p.replace(/-/g, '_')}`;
    await pool.query(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW."unitId" = '${p}-poison' THEN RAISE EXCEPTION 'unit ${p}-poison is refused'; END IF; RETURN NEW; END $$`);
    await pool.query(`CREATE TRIGGER ${fn} BEFORE INSERT ON "Event" FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
    try {
      const batch = Array.from({ length: 50 }, (_, i) => ev(`${p}-${String(i).padStart(2, '0')}`, i === 31 ? `${p}-poison` : `u${i}`));
      expect(await writeEvents(pool, batch)).toEqual({ written: 49, duplicates: 0, deadLettered: 1 });
    } finally {
      await pool.query(`DROP TRIGGER ${fn} ON "Event"`);
      await pool.query(`DROP FUNCTION ${fn}()`);
    }
    expect(await storedIds(p)).toHaveLength(49);
    const dead = await deadLetters(`${p}-poison`);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.reason).toBe(`unit ${p}-poison is refused`);
  });

  it('dead-letters timestamps outside the stored days instead of failing the batch', async () => {
    const p = `old-${uniqueSuffix()}`;
    const out = await writeEvents(pool, [ev(`${p}-a`, 'u'), ev(`${p}-b`, 'u', { timestamp: '0001-01-01T00:00:00.000Z' })]);
    expect(out).toEqual({ written: 1, duplicates: 0, deadLettered: 1 });
    expect((await deadLetters(`${p}-b`))[0]!.reason).toMatch(/^timestamp: outside the stored days/);
  });

  it('runs concurrent overlapping batches without a deadlock, each event once', async () => {
    const p = `dl-${uniqueSuffix()}`;
    const ids = Array.from({ length: 400 }, (_, i) => `${p}-${i}`);
    // 16 batches of 300 ids each, drawn from the same 400 in different orders.
    const batches = Array.from({ length: 16 }, (_, b) => {
      const order = [...ids].sort((x, y) => ((hash(x + b) - hash(y + b)) | 0));
      return order.slice(0, 300).map((id) => ev(id, `u-${id}`));
    });
    const results = await Promise.all(batches.map((batch) => writeEvents(pool, batch)));
    const written = results.reduce((a, r) => a + r.written, 0);
    const distinct = new Set(batches.flat().map((e) => e.eventId)).size;
    expect(written).toBe(distinct);
    expect(results.every((r) => r.deadLettered === 0)).toBe(true);
    expect(new Set(await storedIds(p)).size).toBe(distinct);
    expect(await storedIds(p)).toHaveLength(distinct);
  });
});

describe('writeJob', () => {
  it('throws a passing failure for the queue to retry, and dead-letters the whole batch on the final attempt', async () => {
    const p = `fin-${uniqueSuffix()}`;
    const fn = `busy_${p.replace(/-/g, '_')}`;
    await pool.query(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW."unitId" LIKE '${p}-%' THEN RAISE EXCEPTION 'lock timeout' USING ERRCODE = '55P03'; END IF; RETURN NEW; END $$`);
    await pool.query(`CREATE TRIGGER ${fn} BEFORE INSERT ON "Event" FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
    try {
      const items = [ev(`${p}-1`, `${p}-a`), ev(`${p}-2`, `${p}-b`)];
      await expect(writeJob(pool, { kind: 'events', items }, { finalAttempt: false })).rejects.toMatchObject({ code: '55P03' });
      expect(await writeJob(pool, { kind: 'events', items }, { finalAttempt: true })).toEqual({ written: 0, duplicates: 0, deadLettered: 2 });
    } finally {
      await pool.query(`DROP TRIGGER ${fn} ON "Event"`);
      await pool.query(`DROP FUNCTION ${fn}()`);
    }
    const dead = await deadLetters(p);
    expect(dead.map((d) => d.payload.eventId).sort()).toEqual([`${p}-1`, `${p}-2`]);
    expect(dead[0]!.reason).toBe('batch failed on its final attempt: lock timeout');
    expect(await storedIds(p)).toEqual([]);
  });
});

describe('writeExposures', () => {
  it('writes the good exposures of a batch with a poison one, first exposure winning', async () => {
    const p = `exp-${uniqueSuffix()}`;
    const key = `${p}-x`;
    await insertExperiment(pool, key);
    const at = new Date().toISOString();
    const x = (unitId: string, variant = 'control') => ({ experiment: key, unitId, variant, propensity: 0.5, segment: 0, snapshotVersion: 1, context: {}, assignedAt: at });
    const out = await writeExposures(pool, [x('u1'), x('u2'), x('u1', 'treatment'), { ...x('u3'), context: { k: 'a\u0000' } }, x('u4')]);
    expect(out).toEqual({ written: 3, duplicates: 1, deadLettered: 1, exposuresWritten: [{ experiment: key, variant: 'control', n: 3 }] });
    const rows = await pool.query<{ unitId: string; variant: string }>(
      `SELECT "unitId", variant FROM "Assignment" a JOIN "Experiment" e ON e.id = a."experimentId" WHERE e.key = $1 ORDER BY 1`, [key]);
    expect(rows.rows).toEqual([{ unitId: 'u1', variant: 'control' }, { unitId: 'u2', variant: 'control' }, { unitId: 'u4', variant: 'control' }]);
  });
});

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
