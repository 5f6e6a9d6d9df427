/**
 * POST /events and the dead-letter routes through the real API and worker processes, PostgreSQL,
 * Redis and the cycle's collect activity: one unit-scoped event feeding every experiment that
 * exposed the unit (within its attribution window), dedupe without a client timestamp, per-event
 * answers, 429 under a full queue, and dead letters listed and replayed.
 */
import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { startApi } from '../../api/main.js';
import { writeExposures } from '../../infra/ingest.js';
import { pseudonymiseUnitId } from '../../infra/unit-pseudonym.js';
import { createRedis } from '../../infra/redis.js';
import { useActivities } from '../helpers/activity-deps.js';
import { abExperiment, createExperimentRow } from '../helpers/fixtures.js';
import { testConfig, uniqueSuffix, waitFor } from '../helpers/services.js';
import { useStack } from '../helpers/stack.js';

const stack = useStack();
const env = useActivities();

/** How the API stores a unit id (README, "Privacy"). */
const stored = (unitId: string) => pseudonymiseUnitId(stack.config.unitIdKey, unitId);
const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();

async function eventCount(prefix: string): Promise<number> {
  const r = await env.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "Event" WHERE "eventId" LIKE $1`, [`${prefix}%`]);
  return r.rows[0]!.n;
}

async function expose(key: string, unitId: string, assignedAt: string) {
  await writeExposures(env.pool, [{ experiment: key, unitId: stored(unitId), variant: 'control', propensity: 0.5, segment: 0, snapshotVersion: 1, context: {}, assignedAt }]);
}

/** Purchases counted for the experiment by the cycle's collect step. */
async function collectedPurchases(key: string, cycle: number): Promise<number> {
  await env.acts.collectData({ experimentKey: key, cycle });
  const exp = await env.prisma.experiment.findUniqueOrThrow({ where: { key } });
  const row = await env.prisma.cycleStats.findUniqueOrThrow({ where: { experimentId_cycle_step: { experimentId: exp.id, cycle, step: 'collect' } } });
  const cells = (row.payload as { cells: Array<{ metric: string; moments: { sum: number } }> }).cells;
  return cells.filter((c) => c.metric === 'purchases').reduce((a, c) => a + c.moments.sum, 0);
}

describe('unit-scoped events', () => {
  it('counts one event for every experiment that exposed the unit, within each attribution window, once per eventId', async () => {
    const s = uniqueSuffix();
    const a = `ev-a-${s}`;
    const b = `ev-b-${s}`;
    const metrics = [{ key: 'purchases', event: `purchase-${s}`, type: 'count', role: 'primary' }];
    await createExperimentRow(env.prisma, env.redis, abExperiment(a, { metrics, attribution: { lookbackSeconds: 600, windowHours: 1 } }));
    await createExperimentRow(env.prisma, env.redis, abExperiment(b, { metrics }));
    await waitFor(async () => stack.api.cache.has(b), { what: 'experiment b in the API cache' });
    for (const key of [a, b]) for (const u of ['u1', 'u2']) await expose(key, `${s}-${u}`, hoursAgo(3));

    const name = `purchase-${s}`;
    const r = await stack.post('/events', [
      // Within a's 1 h window and b's open one: counts for both.
      { eventId: `${s}-e1`, unitId: `${s}-u1`, name, timestamp: hoursAgo(2.5) },
      // Two hours after exposure: outside a's window, inside b's.
      { eventId: `${s}-e2`, unitId: `${s}-u2`, name, timestamp: hoursAgo(1) },
      // Restricted to b.
      { eventId: `${s}-e3`, unitId: `${s}-u1`, name, timestamp: hoursAgo(2.5), experiment: b },
      // Not a metric of either: stored, counted nowhere.
      { eventId: `${s}-e4`, unitId: `${s}-u1`, name: 'page_view' },
      // A unit neither experiment has exposed yet.
      { eventId: `${s}-e5`, unitId: `${s}-u3`, name, timestamp: hoursAgo(2.5) },
    ]);
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body).toEqual({ accepted: 5, rejected: [] });
    await waitFor(async () => (await eventCount(`${s}-e`)) === 5, { what: 'events in Postgres' });
    expect(await collectedPurchases(a, 1)).toBe(1);
    expect(await collectedPurchases(b, 1)).toBe(3);

    // A retrying client without a timestamp: the API stamps each attempt differently, the event counts once.
    for (let i = 0; i < 2; i++) {
      const retry = await stack.post('/events', { events: [{ eventId: `${s}-e6`, unitId: `${s}-u2`, name }] });
      expect(retry.status).toBe(202);
    }
    // u3's exposure arrives after its event: the next cycle counts it (incremental, both orders).
    await expose(b, `${s}-u3`, hoursAgo(3));
    await waitFor(async () => (await eventCount(`${s}-e6`)) === 1, { what: 'the retried event' });
    expect(await collectedPurchases(b, 2)).toBe(5);
    expect(await collectedPurchases(a, 2)).toBe(1);
    // Let both attempts' jobs drain, then check once more that the second wrote nothing.
    await waitFor(queueIdle, { what: 'ingest queue drained' });
    expect(await eventCount(`${s}-e6`)).toBe(1);
  });
});

function deep(levels: number): Record<string, unknown> {
  let v: Record<string, unknown> = { leaf: 1 };
  for (let i = 0; i < levels; i++) v = { k: v };
  return v;
}

async function queueIdle(): Promise<boolean> {
  const q = new Queue(stack.config.events.queue, { connection: env.bull });
  try {
    const c = await q.getJobCounts('waiting', 'active', 'delayed');
    // BullMQ answers a key for every type asked for; an absent one would mean none of that type.
    return (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) === 0;
  } finally {
    await q.close();
  }
}

describe('POST /events answers', () => {
  it('accepts the good events of a mixed batch and lists the bad ones by index with reasons', async () => {
    const s = uniqueSuffix();
    const r = await stack.post('/events', {
      events: [
        { eventId: `${s}-0`, unitId: 'u0', name: 'ingest-test' },
        { eventId: `${s}-1`, unitId: 'u1', name: 'ingest-test', value: 'x' },
        { eventId: `${s}-2`, unitId: 'u2', name: 'ingest-test', properties: { plan: 'pro' } },
        { eventId: `${s}-3`, unitId: 'u\u00003', name: 'ingest-test' },
        { eventId: `${s}-4`, unitId: 'u4', name: 'ingest-test', timestamp: '0000-01-01T00:00:00Z' },
        { eventId: `${s}-5`, unitId: 'u5', name: 'ingest-test', context: { geo: { city: 'Lis\u0000bon' } } },
        { eventId: `${s}-6`, unitId: 'u6', name: 'ingest-test', properties: { note: 'half \ud83d' } },
        { eventId: `${s}-7`, unitId: 'u7', name: 'ingest-test', properties: deep(40) },
      ],
    });
    expect(r.status).toBe(202);
    expect(r.body.accepted).toBe(2);
    expect(r.body.rejected.map((x: any) => [x.index, x.errors[0].field.split('.')[0]])).toEqual([[1, 'value'], [3, 'unitId'], [4, 'timestamp'], [5, 'context'], [6, 'properties'], [7, 'properties']]);
    expect(r.body.rejected[3].errors[0].field).toBe('context.geo.city');
    expect(r.body.rejected[4].errors[0]).toEqual({ field: 'properties.note', message: 'must not contain an unpaired UTF-16 surrogate' });
    expect(r.body.rejected[5].errors[0].message).toMatch(/nested deeper than 32 levels/);
    await waitFor(async () => (await eventCount(`${s}-`)) === 2, { what: 'the good events' });
  });

  it('refuses a value whose square overflows the cycle; values at the bound still collect', async () => {
    const s = uniqueSuffix();
    const key = `ev-big-${s}`;
    const name = `revenue-${s}`;
    await createExperimentRow(env.prisma, env.redis, abExperiment(key, { metrics: [{ key: 'purchases', event: name, type: 'continuous', role: 'primary' }] }));
    for (const u of ['u1', 'u2']) await expose(key, `${s}-${u}`, hoursAgo(1));
    const r = await stack.post('/events', [
      { eventId: `${s}-huge`, unitId: `${s}-u1`, name, value: 1e308 },
      { eventId: `${s}-neg`, unitId: `${s}-u1`, name, value: -1.7976931348623157e308 },
      { eventId: `${s}-top`, unitId: `${s}-u1`, name, value: 1e15 },
      { eventId: `${s}-low`, unitId: `${s}-u2`, name, value: -1e15 },
    ]);
    expect(r.status).toBe(202);
    expect(r.body.rejected.map((x: any) => [x.index, x.errors[0].field])).toEqual([[0, 'value'], [1, 'value']]);
    await waitFor(async () => (await eventCount(`${s}-`)) === 2, { what: 'the two events at the bound' });
    // Before the bound, the 1e308 event was stored and every cycle's collect failed on it ("value out of range: overflow").
    expect(await collectedPurchases(key, 1)).toBe(0);
  });

  it('takes NDJSON, answering an unparsable line by its index', async () => {
    const s = uniqueSuffix();
    const body = [`{"eventId":"${s}-0","unitId":"u0","name":"ingest-test"}`, '{not json', `{"eventId":"${s}-2","unitId":"u2","name":"ingest-test","value":2.5}`, ''].join('\n');
    const res = await fetch(`${stack.api.url}/events`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
    const json = (await res.json()) as any;
    expect(res.status).toBe(202);
    expect(json.accepted).toBe(2);
    expect(json.rejected).toHaveLength(1);
    expect(json.rejected[0].index).toBe(1);
    expect(json.rejected[0].errors[0].message).toMatch(/^not valid JSON/);
    await waitFor(async () => (await eventCount(`${s}-`)) === 2, { what: 'NDJSON events' });
  });

  it('answers 429 with Retry-After once the queue is past its depth', async () => {
    const queue = `test-full-${uniqueSuffix()}`;
    const config = testConfig({ events: { ...stack.config.events, queue, maxQueueDepth: 2 } });
    const api = await startApi(config, 0); // no worker drains this queue
    const bull = createRedis(config.redisUrl, { forBullmq: true });
    try {
      const send = () => fetch(`${api.url}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ eventId: uniqueSuffix(), unitId: 'u', name: 'ingest-test' }]) });
      expect((await send()).status).toBe(202);
      expect((await send()).status).toBe(202);
      const full = await send();
      expect(full.status).toBe(429);
      expect(full.headers.get('retry-after')).toBe('2');
      expect(((await full.json()) as any).error.code).toBe('queue_full');
    } finally {
      const q = new Queue(queue, { connection: bull });
      await q.obliterate({ force: true });
      await q.close();
      bull.disconnect();
      await api.close();
    }
  });
});

describe('dead letters', () => {
  it('keeps a row Postgres refused, lists it, and replays it once the cause is fixed', async () => {
    const s = uniqueSuffix();
    const poison = `${s}-poison`;
    const fn = `refuse_${s}`;
    await env.pool.query(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW."unitId" = '${stored(poison)}' THEN RAISE EXCEPTION 'unit ${poison} refused'; END IF; RETURN NEW; END $$`);
    await env.pool.query(`CREATE TRIGGER ${fn} BEFORE INSERT ON "Event" FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
    let id: string;
    try {
      const events = Array.from({ length: 20 }, (_, i) => ({ eventId: `${s}-${i}`, unitId: i === 7 ? poison : `u${i}`, name: 'ingest-test' }));
      expect((await stack.post('/events', events)).status).toBe(202);
      await waitFor(async () => (await eventCount(`${s}-`)) === 19, { what: 'the 19 good events' });
      const listed = await waitFor(async () => {
        const r = await stack.get('/dead-letters?limit=1000');
        return r.body.deadLetters.find((d: any) => JSON.parse(d.payload).unitId === stored(poison));
      }, { what: 'the dead letter' });
      expect(listed.kind).toBe('events');
      expect(listed.reason).toBe(`unit ${poison} refused`);
      expect(listed.replayedAt).toBeNull();
      id = listed.id;
    } finally {
      await env.pool.query(`DROP TRIGGER ${fn} ON "Event"`);
      await env.pool.query(`DROP FUNCTION ${fn}()`);
    }
    const replay = await stack.post('/dead-letters/replay', { ids: [id] });
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual({ replayed: 1, ids: [id] });
    await waitFor(async () => (await eventCount(`${s}-`)) === 20, { what: 'the replayed event' });
    const after = await stack.get(`/dead-letters?limit=1&after=${BigInt(id) - 1n}&includeReplayed=true`);
    expect(after.body.deadLetters[0].id).toBe(id);
    expect(after.body.deadLetters[0].replayedAt).not.toBeNull();
    // Replaying again does nothing: it was replayed.
    expect((await stack.post('/dead-letters/replay', { ids: [id] })).body).toEqual({ replayed: 0, ids: [] });
  });

  it('retries a batch Postgres refuses for a passing reason, with backoff, until it is written', async () => {
    const s = uniqueSuffix();
    const fn = `flaky_${s}`;
    // Refuses the unit's rows with a serialization failure (not the data's fault) twice, then lets them in.
    await env.pool.query(`CREATE SEQUENCE ${fn}_tries`);
    await env.pool.query(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW."unitId" = '${stored(`${s}-flaky`)}' THEN IF nextval('${fn}_tries') <= 2 THEN
        RAISE EXCEPTION 'try again later' USING ERRCODE = '40001'; END IF; END IF; RETURN NEW; END $$`);
    await env.pool.query(`CREATE TRIGGER ${fn} BEFORE INSERT ON "Event" FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
    try {
      const events = Array.from({ length: 5 }, (_, i) => ({ eventId: `${s}-${i}`, unitId: i === 2 ? `${s}-flaky` : `u${i}`, name: 'ingest-test' }));
      expect((await stack.post('/events', events)).status).toBe(202);
      await waitFor(async () => (await eventCount(`${s}-`)) === 5, { what: 'all five events after the retries' });
    } finally {
      await env.pool.query(`DROP TRIGGER ${fn} ON "Event"`);
      await env.pool.query(`DROP FUNCTION ${fn}()`);
    }
    expect((await env.pool.query(`SELECT last_value::int AS n FROM ${fn}_tries`)).rows[0].n).toBe(3);
    await env.pool.query(`DROP SEQUENCE ${fn}_tries`);
    const dead = await env.pool.query(`SELECT 1 FROM "DeadLetter" WHERE payload LIKE $1`, [`%${s}-%`]);
    expect(dead.rowCount).toBe(0);
  });

  it('validates the routes', async () => {
    expect((await stack.get('/dead-letters?limit=0')).status).toBe(400);
    const bad = await stack.post('/dead-letters/replay', { ids: ['abc'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^ids\[0\]|^ids|^all/);
  });
});
