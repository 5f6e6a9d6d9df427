/**
 * Bad input at every route gets a 4xx whose JSON envelope names the field, and nothing is written.
 * Runs against the real API process wiring (Postgres, Redis, Temporal client).
 */
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createRedis } from '../../infra/redis.js';
import { loadSnapshot } from '../../infra/snapshot-store.js';
import { testConfig, uniqueSuffix } from '../helpers/services.js';
import { useApi } from '../helpers/stack.js';

const config = testConfig();
const api = useApi(config);

const validExperiment = (key: string) => ({
  key,
  name: 'Validation',
  kind: 'ab',
  owner: 'tests',
  variants: [
    { key: 'control', weight: 0.5, control: true },
    { key: 'treatment', weight: 0.5 },
  ],
  config: { metrics: [{ key: 'conv', event: 'purchase', type: 'binary', role: 'primary' }] },
});

async function post(path: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await fetch(`${api.url}${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string; details: unknown } } & Record<string, unknown> };
}

describe('POST /experiments validation', () => {
  const cases: Array<[string, (e: ReturnType<typeof validExperiment>) => unknown, string]> = [
    ['missing key', ({ key: _k, ...rest }) => rest, 'key'],
    ['bad key', (e) => ({ ...e, key: 'Not A Slug' }), 'key'],
    ['bad kind', (e) => ({ ...e, kind: 'xyz' }), 'kind'],
    ['weights not summing to 1', (e) => ({ ...e, variants: [{ key: 'control', weight: 0.5, control: true }, { key: 'treatment', weight: 0.4 }] }), 'variants'],
    ['no control', (e) => ({ ...e, variants: [{ key: 'a', weight: 0.5 }, { key: 'b', weight: 0.5 }] }), 'variants'],
    ['duplicate variants', (e) => ({ ...e, variants: [{ key: 'a', weight: 0.5, control: true }, { key: 'a', weight: 0.5 }] }), 'variants'],
    ['ab with three arms', (e) => ({ ...e, variants: [{ key: 'a', weight: 0.4, control: true }, { key: 'b', weight: 0.3 }, { key: 'c', weight: 0.3 }] }), 'variants'],
    ['no primary metric', (e) => ({ ...e, config: { metrics: [{ key: 'conv', event: 'purchase', type: 'binary', role: 'guardrail' }] } }), 'config.metrics'],
    ['bad metric type', (e) => ({ ...e, config: { metrics: [{ key: 'conv', event: 'purchase', type: 'ratio-ish', role: 'primary' }] } }), 'config.metrics[0].type'],
    ['alpha out of range', (e) => ({ ...e, config: { ...e.config, alpha: 0.9 } }), 'config.alpha'],
    ['bad regex rule', (e) => ({ ...e, config: { ...e.config, targeting: { attr: 'country', op: 'regex', pattern: '([' } } }), 'config.targeting'],
    ['catastrophic regex rule', (e) => ({ ...e, config: { ...e.config, targeting: { attr: 'name', op: 'regex', pattern: '^(a+)+$' } } }), 'config.targeting.pattern'],
    ['nested catastrophic regex rule', (e) => ({ ...e, config: { ...e.config, targeting: { op: 'not', rule: { attr: 'n', op: 'regex', pattern: '(a|aa)+$' } } } }), 'config.targeting.rule.pattern'],
    ['bad webhook url', (e) => ({ ...e, config: { ...e.config, webhookUrl: 'not a url' } }), 'config.webhookUrl'],
    ['floor above max', (e) => ({ ...e, config: { ...e.config, bounds: { floor: 0.5, max: 0.4, maxChange: 0.1 } } }), 'config.bounds'],
    // Two metrics under one key pooled their events into the same cells.
    ['duplicate metric keys', (e) => ({ ...e, config: { metrics: [{ key: 'conv', event: 'purchase', type: 'binary', role: 'primary' }, { key: 'conv', event: 'refund', type: 'binary', role: 'guardrail' }] } }), 'config.metrics'],
    // An attribution window past Postgres's interval range failed every cycle ("interval out of range").
    ['an engagement weight of 1e308', (e) => ({ ...e, config: { ...e.config, segmentation: { enabled: true, engagementWeights: { clicks: 1e308 } } } }), 'config.segmentation.engagementWeights.clicks'],
    ['an attribution window of 1e308 hours', (e) => ({ ...e, config: { ...e.config, attribution: { windowHours: 1e308 } } }), 'config.attribution.windowHours'],
  ];
  for (const [name, mutate, field] of cases) {
    it(`rejects ${name} naming ${field}`, async () => {
      const key = `val-${uniqueSuffix()}`;
      const { status, body } = await post('/experiments', mutate(validExperiment(key)));
      expect(status).toBe(400);
      expect(body.error?.code).toBe('invalid_request');
      expect(body.error?.message.startsWith(field)).toBe(true);
      const db = new pg.Client({ connectionString: config.databaseUrl });
      await db.connect();
      const rows = await db.query('SELECT 1 FROM "Experiment" WHERE key = $1', [key]);
      await db.end();
      expect(rows.rowCount).toBe(0);
    });
  }

  it('rejects malformed JSON', async () => {
    const { status, body } = await post('/experiments', '{"key":');
    expect(status).toBe(400);
    expect(body.error?.code).toBe('invalid_json');
  });

  it('leaves no row or snapshot behind when the workflow cannot start', async () => {
    const key = `orphan-${uniqueSuffix()}`;
    // Occupy the workflow id so the start fails after the row and snapshot were written.
    const connection = await Connection.connect({ address: config.temporalAddress });
    const client = new Client({ connection });
    const blocker = await client.workflow.start('experimentWorkflow', { workflowId: `experiment-${key}`, taskQueue: `nobody-${key}`, args: [] });
    try {
      const { status, body } = await post('/experiments', validExperiment(key));
      expect(status).toBe(409);
      expect(body.error?.message).toContain(key);
      const db = new pg.Client({ connectionString: config.databaseUrl });
      await db.connect();
      const rows = await db.query('SELECT 1 FROM "Experiment" WHERE key = $1', [key]);
      const audit = await db.query('SELECT 1 FROM "AuditLog" WHERE target = $1', [key]);
      await db.end();
      expect(rows.rowCount).toBe(0);
      expect(audit.rowCount).toBe(0);
      const redis = createRedis(config.redisUrl);
      expect(await loadSnapshot(redis, key)).toBeNull();
      redis.disconnect();
      expect(api.cache.has(key)).toBe(false);
    } finally {
      await blocker.terminate('test cleanup');
      await connection.close();
    }
  });
});

describe('POST /assign validation', () => {
  it('rejects a missing unitId naming the field', async () => {
    const { status, body } = await post('/assign', { experiment: 'whatever' });
    expect(status).toBe(400);
    expect(body.error?.message).toMatch(/^unitId/);
  });
  it('rejects non-JSON content types', async () => {
    const { status, body } = await post('/assign', 'x', { 'content-type': 'text/plain' });
    expect(status).toBe(415);
    expect(body.error?.message).toMatch(/^content-type/);
  });
  it('rejects malformed JSON', async () => {
    const { status, body } = await post('/assign', '{nope');
    expect(status).toBe(400);
    expect(body.error?.code).toBe('invalid_json');
  });
  it('rejects a context value that is an object', async () => {
    const { status, body } = await post('/assign', { experiment: 'e', unitId: 'u', context: { nested: { a: 1 } } });
    expect(status).toBe(400);
    expect(body.error?.message).toMatch(/^context\.nested/);
  });
  it('answers 404 for an unknown experiment', async () => {
    const { status, body } = await post('/assign', { experiment: `nope-${uniqueSuffix()}`, unitId: 'u' });
    expect(status).toBe(404);
    expect(body.error?.message).toMatch(/^experiment/);
  });
});

describe('POST /events validation', () => {
  const ev = (i: number) => ({ eventId: `e${i}`, unitId: `u${i}`, name: 'purchase' });
  it('rejects more than 1000 events', async () => {
    const { status, body } = await post('/events', { events: Array.from({ length: 1001 }, (_, i) => ev(i)) });
    expect(status).toBe(400);
    expect(body.error?.message).toMatch(/^events/);
  });
  it('rejects an empty batch', async () => {
    const { status } = await post('/events', { events: [] });
    expect(status).toBe(400);
  });
  it('names the bad event and field when no event is good', async () => {
    const { status, body } = await post('/events', { events: [{ ...ev(1), value: 'abc' }] });
    expect(status).toBe(400);
    expect(body.error?.message).toMatch(/^events\[0\]\.value/);
  });
  it('rejects a bad timestamp', async () => {
    const { status, body } = await post('/events', { events: [{ ...ev(1), timestamp: 'yesterday' }] });
    expect(status).toBe(400);
    expect(body.error?.message).toMatch(/^events\[0\]\.timestamp/);
  });
  it('rejects events for unknown experiments with 422', async () => {
    const { status, body } = await post('/events', { events: [{ ...ev(1), experiment: `nope-${uniqueSuffix()}` }] });
    expect(status).toBe(422);
    expect(body.error?.message).toMatch(/^events\[0\]\.experiment/);
  });
  it('rejects properties that are not a JSON object', async () => {
    const { status, body } = await post('/events', [{ ...ev(1), properties: ['a'] }]);
    expect(status).toBe(400);
    expect(body.error?.message).toBe('events[0].properties: expected a JSON object');
  });
  it('rejects a body that is not a list of events', async () => {
    const { status, body } = await post('/events', { event: ev(1) });
    expect(status).toBe(400);
    expect(body.error?.message).toMatch(/^events/);
  });
});

describe('control-plane validation', () => {
  it('404s an unknown experiment key', async () => {
    const res = await fetch(`${api.url}/experiments/missing-${uniqueSuffix()}`);
    expect(res.status).toBe(404);
  });
  it('rejects an invalid key in the path', async () => {
    const res = await fetch(`${api.url}/experiments/BAD_KEY!`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/^key/);
  });
  it('requires a reason to stop', async () => {
    const { status, body } = await post(`/experiments/some-key/stop`, {});
    expect(status).toBe(400);
    expect(body.error?.message).toMatch(/^reason/);
  });
  it('rejects out-of-range override weights before reaching the workflow', async () => {
    const { status, body } = await post(`/experiments/some-key/allocation`, { weights: { a: 2 } });
    expect(status).toBe(400);
    expect(body.error?.message).toMatch(/^weights\.a|^clear/);
  });
  it('rejects a bad list filter', async () => {
    const res = await fetch(`${api.url}/experiments?status=bogus`);
    expect(res.status).toBe(400);
  });
});
