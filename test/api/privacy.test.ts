/**
 * Privacy on the real stack: no raw unit id reaches any Postgres column or Redis key or value,
 * assignment still buckets on the raw id, raw location is stored only with consent, and
 * DELETE /units (and `expflow units delete`) leaves nothing of the unit behind, queued jobs included.
 */
import { describe, expect, it } from 'vitest';
import { assign } from '../../domain/assignment/assign.js';
import { loadSnapshot } from '../../infra/snapshot-store.js';
import { pseudonymiseUnitId } from '../../infra/unit-pseudonym.js';
import { abExperiment } from '../helpers/fixtures.js';
import { runExpflow } from '../helpers/cli.js';
import { uniqueSuffix, waitFor } from '../helpers/services.js';
import { useStack, useStores } from '../helpers/stack.js';

const stack = useStack();
const { config } = stack;
const post = (path: string, body: unknown) => stack.post(path, body);
const pseudonym = (id: string) => pseudonymiseUnitId(config.unitIdKey, id);
const { db, redis, queues } = useStores(config);

async function create(key: string) {
  const r = await post('/experiments', abExperiment(key, { cycleIntervalSeconds: 3600, policy: { kind: 'fixed' } }));
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return (await db.query<{ id: string }>(`SELECT id FROM "Experiment" WHERE key = $1`, [key])).rows[0]!.id;
}

/** Every text or JSON column of every table in which `needle` occurs, with its count. */
async function tableHits(needle: string): Promise<string[]> {
  const cols = await db.query<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns
     WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'json', 'jsonb', 'character')`,
  );
  expect(cols.rows.length).toBeGreaterThan(20);
  const hits: string[] = [];
  for (const c of cols.rows) {
    const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${c.table_name}" WHERE "${c.column_name}"::text LIKE $1`, [`%${needle}%`]);
    if (r.rows[0]!.n > 0) hits.push(`${c.table_name}.${c.column_name}: ${r.rows[0]!.n}`);
  }
  return hits;
}

/** Every Redis key whose name or value contains `needle`. */
async function redisHits(needle: string): Promise<string[]> {
  const hits: string[] = [];
  let cursor = '0';
  let scanned = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      scanned++;
      if (key.includes(needle)) hits.push(`key ${key}`);
      const type = await redis.type(key);
      let values: string[] = [];
      if (type === 'string') values = [(await redis.get(key)) ?? ''];
      else if (type === 'hash') values = Object.entries(await redis.hgetall(key)).flat();
      else if (type === 'list') values = await redis.lrange(key, 0, -1);
      else if (type === 'set') values = await redis.smembers(key);
      else if (type === 'zset') values = await redis.zrange(key, '0', '-1');
      else if (type === 'stream') values = (await redis.xrange(key, '-', '+')).flatMap(([id, fields]) => [id, ...fields]);
      if (values.some((v) => v.includes(needle))) hits.push(`value of ${type} ${key}`);
    }
  } while (cursor !== '0');
  expect(scanned).toBeGreaterThan(0);
  return hits;
}

describe('pseudonymised unit ids', () => {
  it('keeps raw ids out of every table and Redis key, buckets on the raw id, and stores raw location only with consent', async () => {
    const sfx = uniqueSuffix();
    const key = `privacy-${sfx}`;
    await create(key);
    const raw = `RAWUNIT${sfx}zq`;
    const consenting = `RAWUNIT${sfx}consent`;
    const location = { country: 'PT', lat: 38.72225, lon: -9.13934, ip: '203.0.113.77' };

    const a = (await post('/assign', { experiment: key, unitId: raw, context: location })).body;
    expect(a.enrolled).toBe(true);
    // Bucketing is on the raw id: the pure assignment of the raw id gives the same variant.
    const snapshot = (await loadSnapshot(redis, key))!;
    expect(a.variant).toBe(assign(raw, snapshot, location).variant);
    expect((await post('/assign', { experiment: key, unitId: raw, context: location })).body.reason).toBe('sticky');
    expect((await post('/assign', { experiment: key, unitId: consenting, context: location, consent: true })).status).toBe(200);
    const ev = await post('/events', { events: [{ eventId: `evt-${sfx}`, experiment: key, unitId: raw, name: 'purchase', value: 1, context: { ip: '198.51.100.23' } }] });
    expect(ev.status).toBe(202);

    const exposures = await waitFor(async () => {
      const r = await db.query<{ unitId: string; context: Record<string, unknown> }>(
        `SELECT a."unitId", a.context FROM "Assignment" a JOIN "Experiment" x ON x.id = a."experimentId" WHERE x.key = $1`, [key]);
      return r.rows.length === 2 ? r.rows : null;
    }, { what: 'two exposures' });
    const events = await waitFor(async () => {
      const r = await db.query<{ unitId: string; context: Record<string, unknown> }>(`SELECT "unitId", context FROM "Event" WHERE "eventId" = $1`, [`evt-${sfx}`]);
      return r.rows.length ? r.rows : null;
    }, { what: 'the event row' });

    const mine = exposures.find((r) => r.unitId === pseudonym(raw))!;
    expect(mine.context).toMatchObject({ country: 'PT', lat: 38.7, lon: -9.1, ip: '203.0.113.0/24' });
    expect(exposures.find((r) => r.unitId === pseudonym(consenting))!.context).toMatchObject(location);
    expect(events).toEqual([{ unitId: pseudonym(raw), context: { ip: '198.51.100.0/24' } }]);
    expect(await redis.hget(`expflow:sticky:${key}`, pseudonym(raw))).not.toBeNull();

    expect(await tableHits(raw)).toEqual([]);
    expect(await redisHits(raw)).toEqual([]);
    // The scans can find things: the pseudonym is there.
    expect((await tableHits(pseudonym(raw))).length).toBeGreaterThanOrEqual(2);
  });
});

describe('DELETE /units/:unitId', () => {
  it('removes every row and Redis entry of the unit, queued jobs included, and keeps everyone else', async () => {
    const sfx = uniqueSuffix();
    const [a, b] = [`forget-a-${sfx}`, `forget-b-${sfx}`];
    const idA = await create(a);
    await create(b);
    const gone = `FORGETME${sfx}`;
    const kept = `KEEPME${sfx}`;
    for (const [exp, unit] of [[a, gone], [b, gone], [a, kept]] as const) {
      expect((await post('/assign', { experiment: exp, unitId: unit, context: {} })).status).toBe(200);
    }
    const ev = (exp: string, unit: string, id: string) => ({ eventId: `${id}-${sfx}`, experiment: exp, unitId: unit, name: 'purchase', value: 1 });
    expect((await post('/events', { events: [ev(a, gone, 'g1'), ev(b, gone, 'g2'), ev(a, kept, 'k1')] })).status).toBe(202);
    const count = async (table: string, unit: string) => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${table}" WHERE "unitId" = $1`, [pseudonym(unit)])).rows[0]!.n;
    await waitFor(async () => ((await count('Event', gone)) === 2 && (await count('Assignment', gone)) === 2 && (await count('Event', kept)) === 1 ? true : null), { what: 'rows ingested' });
    await db.query(`INSERT INTO "SegmentMembership" ("experimentId", "unitId", "segmentId", cycle) VALUES ($1, $2, 1, 1), ($1, $3, 0, 1)`, [idA, pseudonym(gone), pseudonym(kept)]);
    // A shadow prediction and a dead letter of each (as POST /predictions and the writer store them).
    const version = '00000000-0000-4000-8000-000000000001';
    await db.query(`INSERT INTO "Prediction" ("modelVersionId", "unitId", score) VALUES ($1, $2, 0.5), ($1, $3, 0.5)`, [version, pseudonym(gone), pseudonym(kept)]);
    await db.query(`INSERT INTO "DeadLetter" (kind, payload, reason) VALUES ('events', $1, 'test'), ('events', $2, 'test')`, [
      JSON.stringify({ ...ev(a, pseudonym(gone), 'd1'), timestamp: new Date().toISOString(), context: {} }),
      JSON.stringify({ ...ev(a, pseudonym(kept), 'd2'), timestamp: new Date().toISOString(), context: {} }),
    ]);
    // Not yet ingested: a delayed job holding both units.
    const queued = await queues.events.add('events', { kind: 'events', items: [
      { ...ev(a, pseudonym(gone), 'q1'), timestamp: new Date().toISOString(), context: {} },
      { ...ev(a, pseudonym(kept), 'q2'), timestamp: new Date().toISOString(), context: {} },
    ] }, { delay: 10 * 60_000 });

    const res = await fetch(`${stack.api.url}/units/${encodeURIComponent(gone)}`, { method: 'DELETE', headers: { 'x-actor': 'dpo' } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ events: 2, exposures: 2, memberships: 1, predictions: 1, deadLetters: 1, stickyRecords: 2 });
    expect(body.queuedItems).toBeGreaterThanOrEqual(1);

    for (const table of ['Event', 'UnitEventAggregate', 'Assignment', 'SegmentMembership', 'Prediction']) expect(await count(table, gone)).toBe(0);
    expect(await tableHits(pseudonym(gone))).toEqual([]);
    expect(await redisHits(pseudonym(gone))).toEqual([]);
    expect(await tableHits(gone)).toEqual([]);
    // Everyone else is untouched, the queued job included.
    expect([await count('Event', kept), await count('Assignment', kept), await count('SegmentMembership', kept), await count('Prediction', kept)]).toEqual([1, 1, 1, 1]);
    expect((await db.query(`SELECT count(*)::int AS n FROM "DeadLetter" WHERE strpos(payload, $1) > 0`, [pseudonym(kept)])).rows[0].n).toBe(1);
    expect(await redis.hget(`expflow:sticky:${a}`, pseudonym(kept))).not.toBeNull();
    const job = await queues.events.getJob(queued.id!);
    expect(job!.data.items.map((i) => i.unitId)).toEqual([pseudonym(kept)]);
    await job!.remove();
    const audit = await db.query<{ actor: string; data: any }>(`SELECT actor, data FROM "AuditLog" WHERE action = 'unit.delete' AND data->>'requestId' = $1`, [body.requestId]);
    expect(audit.rows).toEqual([{ actor: 'local (on behalf of dpo)', data: { requestId: body.requestId, events: 2, aggregates: body.aggregates, exposures: 2, memberships: 1, predictions: 1, deadLetters: 1, stickyRecords: 2, queuedItems: body.queuedItems } }]);

    // The CLI does the same; a second deletion finds nothing.
    const cli = await runExpflow(['units', 'delete', gone, '--api', stack.api.url]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ events: 0, aggregates: 0, exposures: 0, memberships: 0, predictions: 0, deadLetters: 0, stickyRecords: 0, queuedItems: 0 });
  });

  it('answers bad input with 400 or exit 2 naming the field', async () => {
    const long = 'x'.repeat(201);
    const r = await fetch(`${stack.api.url}/units/${long}`, { method: 'DELETE' });
    expect(r.status).toBe(400);
    expect(((await r.json()) as any).error.message).toMatch(/^unitId: /);
    const cases: Array<[string[], string]> = [[['units', 'delete'], 'unitId: '], [['units', 'remove', 'x'], 'command: '], [['units', 'delete', 'x', '--api', 'nope'], '--api: ']];
    for (const [args, message] of cases) {
      const out = await runExpflow(args);
      expect(out.code).toBe(2);
      expect(out.stderr).toContain(message);
    }
  });
});
