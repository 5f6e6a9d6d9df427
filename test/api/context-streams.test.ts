/**
 * External context on the real stack (Temporal, Postgres, Redis): a pull source polled by its
 * Temporal Schedule from a fake feed this test serves, reaction rules dampening a running
 * experiment (status query and audit log), derived features on stored exposures, scope filtering,
 * and bad input answered 400 naming the field.
 */
import { createServer, type Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timeFeatures } from '../../domain/context/time-features.js';
import { recentContextRows } from '../../infra/aggregates.js';
import { parseCidr } from '../../domain/context/source-url-policy.js';
import { createPool } from '../../infra/pg.js';
import { DEFAULT_SOURCE_ACCESS } from '../../infra/source-fetch.js';
import { pseudonymiseUnitId } from '../../infra/unit-pseudonym.js';
import { uniqueSuffix, waitFor } from '../helpers/services.js';
import { useStack } from '../helpers/stack.js';

// The fake feeds listen on 127.0.0.1: allowed explicitly, as an operator would list an internal feed's network.
const loopbackFeed = parseCidr('127.0.0.1/32');
if (!loopbackFeed) throw new Error('127.0.0.1/32 did not parse');
const stack = useStack({
  contextSources: { ...DEFAULT_SOURCE_ACCESS, timeoutMs: 3_000, policy: { ...DEFAULT_SOURCE_ACCESS.policy, privateNetworks: [loopbackFeed] } },
});
const { config } = stack;
const post = (path: string, body: unknown) => stack.post(path, body);
let db: pg.Client;
let temporal: Client;
let connection: Connection;

/** A feed whose body the test sets; counts the requests it serves. */
function startFeed(): Promise<{ server: Server; url: string; hits: () => number; set(status: number, body: unknown): void }> {
  let status = 200;
  let body: unknown = {};
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(text);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address() as { port: number };
      resolve({ server, url: `http://127.0.0.1:${addr.port}/feed`, hits: () => hits, set: (s, b) => ((status = s), (body = b)) });
    }),
  );
}

beforeAll(async () => {
  db = new pg.Client({ connectionString: config.databaseUrl });
  await db.connect();
  connection = await Connection.connect({ address: config.temporalAddress });
  temporal = new Client({ connection, namespace: config.temporalNamespace });
});
afterAll(async () => {
  await db?.end();
  await connection?.close();
});

async function create(key: string, extra: Record<string, unknown> = {}) {
  const r = await post('/experiments', {
    key, name: key, kind: 'ab', owner: 'tests',
    variants: [{ key: 'control', weight: 0.5, control: true }, { key: 'treatment', weight: 0.5 }],
    config: { metrics: [{ key: 'purchase', event: 'purchase', type: 'binary', role: 'primary' }], cycleIntervalSeconds: 3600, policy: { kind: 'fixed' }, ...extra },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
}

const status = async (key: string) => (await stack.get(`/experiments/${key}`)).body.live;
const auditOf = async (key: string, action: string) =>
  (await db.query<{ actor: string; reason: string; data: any }>(`SELECT actor, reason, data FROM "AuditLog" WHERE target = $1 AND action = $2 ORDER BY id`, [key, action])).rows;

describe('pull sources', () => {
  it('polls a fake feed on its Temporal Schedule, stores signals, and its rule dampens a running experiment', async () => {
    const feed = await startFeed();
    const source = `feed-${uniqueSuffix()}`;
    const exp = `pulled-${uniqueSuffix()}`;
    await create(exp, { reactionRules: [{ signal: `${source}.sentiment`, below: -0.5, dampen: 0.4, halfLifeSeconds: 7200 }] });
    let tick = 0;
    const body = () => ({ updated: new Date(Date.now() - 1000).toISOString(), scores: { sentiment: -0.2 - 0.01 * tick++ } });
    feed.set(200, body());
    try {
      const r = await post('/context/sources', {
        key: source, url: feed.url, intervalSeconds: 1, scope: [exp],
        mapping: { fields: { sentiment: 'scores.sentiment' }, timestamp: 'updated' },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body.scheduleId).toBe(`context-source-${source}`);
      const described = await temporal.schedule.getHandle(r.body.scheduleId).describe();
      expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'contextSourceWorkflow' });

      // The schedule keeps polling: each new observation becomes a row of the time series.
      const series = await waitFor(async () => {
        feed.set(200, body());
        const s = (await stack.get(`/context/signals?source=${source}`)).body.signals as any[];
        return s.length >= 3 ? s : null;
      }, { what: 'three polled observations', timeoutMs: 90_000 });
      expect(series[0]).toMatchObject({ source, name: 'sentiment', scope: { kind: 'experiments', experiments: [exp] } });
      expect(feed.hits()).toBeGreaterThanOrEqual(3);
      expect((await status(exp)).dampening.factor).toBe(0);

      // Bad news in the feed fires the experiment's rule through the polling workflow.
      feed.set(200, { updated: new Date().toISOString(), scores: { sentiment: -0.9 } });
      const live = await waitFor(async () => {
        const s = await status(exp);
        return s?.dampening.factor > 0.39 ? s : null;
      }, { what: 'dampening from the polled signal', timeoutMs: 90_000 });
      expect(live.dampening.events).toHaveLength(1);
      expect(live.dampening.events[0]).toMatchObject({ severity: 0.4, halfLifeMs: 7_200_000 });
      expect(live.dampening.events[0].kind).toContain(`${source}.sentiment = -0.9 below -0.5`);
      const audit = await auditOf(exp, 'experiment.dampen');
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ actor: `context-source:${source}`, data: { signal: `${source}.sentiment`, value: -0.9, severity: 0.4 } });

      // A failing feed is retried, then reported on the source and in the audit log.
      feed.set(500, { error: 'down' });
      // Three attempts (1 s, 2 s apart) then the failure is recorded; bounded generously for a loaded
      // machine, and a miss says where the schedule's current run stands.
      const failed = await waitFor(async () => {
        const s = ((await stack.get('/context/sources')).body.sources as any[]).find((x) => x.key === source);
        return s?.failures > 0 ? s : null;
      }, { what: 'a failed poll recorded', timeoutMs: 120_000 }).catch(async (e: Error) => {
        const schedule = await temporal.schedule.getHandle(`context-source-${source}`).describe();
        const runs = await Promise.all(schedule.info.runningActions.map(async (a) => {
          const d = await temporal.workflow.getHandle(a.workflow.workflowId, a.workflow.firstExecutionRunId).describe();
          return { id: a.workflow.workflowId, status: d.status.name, pending: d.raw.pendingActivities?.map((p) => ({ type: p.activityType?.name, state: p.state, attempt: p.attempt, failure: p.lastFailure?.message })) };
        }));
        throw new Error(`${e.message}; feed hits ${feed.hits()}; running: ${JSON.stringify(runs)}; recent: ${JSON.stringify(schedule.info.recentActions.slice(-3).map((a) => a.action.workflow.workflowId))}`);
      });
      expect(failed.lastError).toContain('HTTP 500');
      expect((await auditOf(`context-source:${source}`, 'context.source_failed'))[0]!.reason).toContain('HTTP 500');
    } finally {
      await fetch(`${stack.api.url}/context/sources/${source}`, { method: 'DELETE' });
      feed.server.close();
    }
    await expect(temporal.schedule.getHandle(`context-source-${source}`).describe()).rejects.toThrow(/not found/i);
  }, 400_000);

  it('refuses a stored URL the policy no longer allows at poll time (a permanent failure) and never fetches it', async () => {
    const feed = await startFeed();
    feed.set(200, { scores: { sentiment: 0.1 } });
    // The same port on 127.0.0.2: loopback, but not in the allowed 127.0.0.1/32.
    const port = new URL(feed.url).port;
    let hidden = 0;
    const internal = createServer((_req, res) => {
      hidden++;
      res.end('{"scores":{"sentiment":0.1}}');
    });
    await new Promise<void>((r) => internal.listen(Number(port), '127.0.0.2', () => r()));
    const source = `stale-${uniqueSuffix()}`;
    try {
      const r = await post('/context/sources', { key: source, url: feed.url, intervalSeconds: 3600, mapping: { fields: { sentiment: 'scores.sentiment' } } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      await waitFor(async () => ((await stack.get(`/context/signals?source=${source}`)).body.signals.length ? true : null), { what: 'the first poll' });
      // A row written before the policy tightened (or by hand) now points at a forbidden address.
      await db.query(`UPDATE "ContextSource" SET url = $1 WHERE key = $2`, [`http://127.0.0.2:${port}/feed`, source]);
      await temporal.schedule.getHandle(`context-source-${source}`).trigger();
      const failed = await waitFor(async () => {
        const s = ((await stack.get('/context/sources')).body.sources as any[]).find((x) => x.key === source);
        return s?.failures > 0 ? s : null;
      }, { what: 'the refused poll recorded', timeoutMs: 30_000 });
      expect(failed.lastError).toMatch(/refused: 127\.0\.0\.2 is a loopback address/);
      expect(hidden).toBe(0);
    } finally {
      await fetch(`${stack.api.url}/context/sources/${source}`, { method: 'DELETE' });
      feed.server.close();
      internal.close();
    }
  });
});

describe('POST /context', () => {
  it('reaches only the experiments a signal concerns, once per half-life', async () => {
    const a = `rule-a-${uniqueSuffix()}`;
    const b = `rule-b-${uniqueSuffix()}`;
    const src = `press${uniqueSuffix()}`;
    const rules = [{ signal: `${src}.sentiment`, below: -0.5, dampen: 0.5, halfLifeSeconds: 3600 }];
    await create(a, { reactionRules: rules });
    await create(b, { reactionRules: rules });

    const attr = await post('/context', { source: src, name: 'sentiment', value: -0.9, timestamp: new Date().toISOString(), scope: { country: 'PT' } });
    expect(attr.status, JSON.stringify(attr.body)).toBe(202);
    expect(attr.body.reactions).toEqual([]);

    const mild = { source: src, name: 'sentiment', value: -0.3, timestamp: new Date(Date.now() - 5000).toISOString(), scope: [a, b] };
    const r = await post('/context', { signals: [
      mild,
      { source: src, name: 'sentiment', value: -0.8, timestamp: new Date().toISOString(), scope: [a] },
    ] });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body).toMatchObject({ accepted: 2, stored: 2 });
    expect(r.body.reactions).toEqual([expect.objectContaining({ experiment: a, value: -0.8, outcome: 'signalled' })]);

    const live = await waitFor(async () => {
      const s = await status(a);
      return s?.dampening.factor > 0.49 ? s : null;
    }, { what: 'dampening in the status query' });
    expect(live.dampening.factor).toBeCloseTo(0.5, 2);
    expect((await status(b)).dampening.factor).toBe(0);
    expect(await auditOf(a, 'experiment.dampen')).toHaveLength(1);
    expect(await auditOf(b, 'experiment.dampen')).toHaveLength(0);

    // The same rule within its half-life sustains, rather than compounds, the dampening.
    const again = await post('/context', { source: src, name: 'sentiment', value: -0.95, timestamp: new Date().toISOString(), scope: [a] });
    expect(again.body.reactions).toEqual([expect.objectContaining({ experiment: a, outcome: 'throttled' })]);
    expect((await status(a)).dampening.events).toHaveLength(1);

    // The manual endpoint stays as an override and is audited too.
    expect((await post(`/experiments/${b}/external-context`, { kind: 'outage', severity: 0.3 })).status).toBe(202);
    await waitFor(async () => ((await status(b))?.dampening.factor > 0.29 ? true : null), { what: 'manual dampening' });
    expect((await auditOf(b, 'experiment.dampen'))[0]).toMatchObject({ reason: 'manual external context: outage' });
  });

  it('stores each observation once', async () => {
    const src = `dedupe${uniqueSuffix()}`;
    const s = { source: src, name: 'load', value: 3, timestamp: '2026-01-01T10:00:00Z' };
    expect((await post('/context', s)).body).toMatchObject({ accepted: 1, stored: 1 });
    expect((await post('/context', [s])).body).toMatchObject({ accepted: 1, stored: 0 });
    const rows = (await stack.get(`/context/signals?source=${src}`)).body.signals;
    expect(rows).toEqual([{ source: src, name: 'load', value: 3, timestamp: '2026-01-01T10:00:00.000Z', ttl: null, scope: { kind: 'global' }, receivedAt: expect.any(String) }]);
  });

  it('answers bad input with 400 naming the field', async () => {
    const ok = { source: 'news', name: 'sentiment', value: -0.1, timestamp: new Date().toISOString() };
    const cases: Array<[string, unknown, string]> = [
      ['/context', { ...ok, value: 'low' }, 'signals[0].value'],
      ['/context', { signals: [ok, { ...ok, timestamp: 'yesterday' }] }, 'signals[1].timestamp'],
      ['/context', { ...ok, ttlSeconds: 60 }, 'signals[0]'],
      ['/context', { ...ok, source: 'a.b' }, 'signals[0].source'],
      ['/context', { ...ok, scope: 'everyone' }, 'signals[0].scope'],
      ['/context', { ...ok, value: 1e400 }, 'signals[0].value'],
      ['/context', { ...ok, timestamp: '0000-01-01T00:00:00Z' }, 'signals[0].timestamp'],
      ['/context', { signals: [] }, 'signals'],
      ['/context', { ...ok, scope: { country: 'P\u0000T' } }, 'signals[0].scope'],
      ['/context/sources', { key: 'src-x', url: 'ftp://x', intervalSeconds: 10, mapping: { fields: { a: 'b' } } }, 'url'],
      ['/context/sources', { key: 'src-x', url: 'http://x', intervalSeconds: 0, mapping: { fields: { a: 'b' } } }, 'intervalSeconds'],
      ['/context/sources', { key: 'src-x', url: 'http://x', intervalSeconds: 10, mapping: { fields: {} } }, 'mapping.fields'],
      ['/context/sources', { key: 'src-x', url: 'http://x', intervalSeconds: 10, mapping: { fields: { a: 'b\u0000' } } }, 'mapping.fields.a'],
      // The SSRF guard: only public addresses, and the networks this stack lists (127.0.0.1/32).
      ...['http://127.0.0.2:9/feed', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]:9/', 'http://10.0.0.1/', 'http://0x7f000002/', 'http://user:pw@127.0.0.1:9/', 'http://unresolvable.invalid/']
        .map((url): [string, unknown, string] => ['/context/sources', { key: 'src-x', url, intervalSeconds: 10, mapping: { fields: { a: 'b' } } }, 'url:']),
    ];
    for (const [path, body, field] of cases) {
      const r = await post(path, body);
      expect(r.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(r.body.error.message.startsWith(`${field}`), r.body.error.message).toBe(true);
    }
    const tz = await post('/experiments', {
      key: `tz-${uniqueSuffix()}`, name: 'x', kind: 'ab', owner: 't',
      variants: [{ key: 'control', weight: 0.5, control: true }, { key: 'treatment', weight: 0.5 }],
      config: { metrics: [{ key: 'p', event: 'p', type: 'binary', role: 'primary' }], timeZone: 'Mars/Olympus' },
    });
    expect(tz.status).toBe(400);
    expect(tz.body.error.message).toMatch(/^config\.timeZone: not an IANA time zone/);
    const rule = await post('/experiments', {
      key: `rr-${uniqueSuffix()}`, name: 'x', kind: 'ab', owner: 't',
      variants: [{ key: 'control', weight: 0.5, control: true }, { key: 'treatment', weight: 0.5 }],
      config: { metrics: [{ key: 'p', event: 'p', type: 'binary', role: 'primary' }], reactionRules: [{ signal: 'news.sentiment', dampen: 0.5 }] },
    });
    expect(rule.status).toBe(400);
    expect(rule.body.error.message).toMatch(/^config\.reactionRules\[0\]\.below: a rule needs below or above/);
  });
});

describe('derived features on exposures', () => {
  it('stores time features in the experiment zone and only the in-scope signals, and reports can read them', async () => {
    const key = `feat-${uniqueSuffix()}`;
    const other = `feat-other-${uniqueSuffix()}`;
    await create(key, { timeZone: 'Asia/Kolkata' });
    await create(other);
    const src = `wx${uniqueSuffix()}`;
    const now = new Date().toISOString();
    const r = await post('/context', { signals: [
      { source: src, name: 'temp', value: 31, timestamp: now, scope: { country: 'PT' } },
      { source: src, name: 'temp', value: 18, timestamp: now },
      { source: src, name: 'promo', value: 1, timestamp: now, scope: [other] },
      { source: src, name: 'stale', value: 5, timestamp: new Date(Date.now() - 120_000).toISOString(), ttl: 60 },
    ] });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    await waitFor(async () => (stack.api.contextCache.current().filter((s) => s.source === src).length === 3 ? true : null), { what: 'signals in the API cache' });

    for (const [unit, country] of [['pt-unit', 'PT'], ['es-unit', 'ES']] as const) {
      const a = (await post('/assign', { experiment: key, unitId: `${unit}-${key}`, context: { country } })).body;
      expect(a.enrolled).toBe(true);
    }
    const rows = await waitFor(async () => {
      const q = await db.query<{ unitId: string; context: any; assignedAt: Date }>(
        `SELECT a."unitId", a.context, a."assignedAt" FROM "Assignment" a JOIN "Experiment" x ON x.id = a."experimentId" WHERE x.key = $1`, [key]);
      return q.rows.length === 2 ? q.rows : null;
    }, { what: 'two exposures' });
    const byUnit = new Map(rows.map((row) => [row.unitId, row]));
    const pt = byUnit.get(pseudonymiseUnitId(config.unitIdKey, `pt-unit-${key}`))!;
    const es = byUnit.get(pseudonymiseUnitId(config.unitIdKey, `es-unit-${key}`))!;
    // assignedAt is stored as UTC wall time in a timestamp column.
    const at = Date.UTC(pt.assignedAt.getFullYear(), pt.assignedAt.getMonth(), pt.assignedAt.getDate(), pt.assignedAt.getHours(), pt.assignedAt.getMinutes(), pt.assignedAt.getSeconds());
    const expected = timeFeatures(at, 'Asia/Kolkata');
    // Global signals other tests posted are in scope too; look at this test's own.
    const own = (c: Record<string, unknown>) => Object.fromEntries(Object.entries(c).filter(([k]) => !k.startsWith('signal.') || k.startsWith(`signal.${src}.`)));
    expect(own(pt.context)).toEqual({ country: 'PT', ...expected, [`signal.${src}.temp`]: 31 });
    expect(own(es.context)).toEqual({ country: 'ES', ...expected, [`signal.${src}.temp`]: 18 });

    // The contextual model's training rows read derived features like any other attribute.
    const exp = await db.query<{ id: string }>(`SELECT id FROM "Experiment" WHERE key = $1`, [key]);
    const pool = createPool(config.databaseUrl, 1);
    const training = await recentContextRows(pool, exp.rows[0]!.id, {
      features: [`signal.${src}.temp`, 'time.hourOfDay'],
      metric: { key: 'purchase', event: 'purchase', type: 'binary', role: 'primary', direction: 'increase' },
      limit: 10,
    }).finally(() => pool.end());
    expect(training.map((t) => t.features[0]).sort()).toEqual([18, 31]);
    expect(training.every((t) => t.features[1] === expected['time.hourOfDay'])).toBe(true);
  });
});
