/**
 * Hostile input gets a 4xx in the error envelope, never a 500 or a reset connection: deep nesting,
 * oversize bodies, and bodies that are not JSON on JSON routes.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { testConfig, uniqueSuffix } from '../helpers/services.js';
import { useApi } from '../helpers/stack.js';

const config = testConfig();
const api = useApi(config);

/** Sends raw bytes over node:http so a reset shows up as an error, not a fetch retry. */
function send(path: string, body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  return new Promise<{ status: number; body: any; headers: Record<string, unknown> }>((resolve, reject) => {
    const u = new URL(path, api.url);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: data ? JSON.parse(data) : null, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const nested = (depth: number, leaf: string, wrap: (inner: string) => string) => {
  let s = leaf;
  for (let i = 0; i < depth; i++) s = wrap(s);
  return s;
};

describe('deeply nested JSON', () => {
  it('rejects targeting nested 10k deep with 400, not a stack overflow', async () => {
    const rule = nested(10_000, '{"attr":"a","op":"eq","value":1}', (inner) => `{"op":"not","rule":${inner}}`);
    const body = `{"key":"deep-${uniqueSuffix()}","name":"d","kind":"ab","owner":"t","variants":[{"key":"c","weight":0.5,"control":true},{"key":"t","weight":0.5}],"config":{"metrics":[{"key":"m","event":"e","type":"binary","role":"primary"}],"targeting":${rule}}}`;
    const res = await send('/experiments', body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('too_deep');
    expect(res.body.error.message).toMatch(/^body: /);
  });
  it('rejects an event context nested 10k deep by its index, and keeps the good event beside it', async () => {
    // Events are checked one by one (depth included), so one hostile event cannot sink its batch.
    const ctx = nested(10_000, '1', (inner) => `{"a":${inner}}`);
    const s = uniqueSuffix();
    const res = await send('/events', `{"events":[{"eventId":"ok-${s}","unitId":"u","name":"hostile-test"},{"eventId":"deep-${s}","unitId":"u","name":"hostile-test","context":${ctx}}]}`);
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(1);
    expect(res.body.rejected).toHaveLength(1);
    expect(res.body.rejected[0].index).toBe(1);
    expect(res.body.rejected[0].errors[0].message).toMatch(/nested deeper than \d+ levels/);
  });
  it('rejects an assignment context nested 5k deep (within the size cap) with 400', async () => {
    const ctx = nested(5_000, '1', (inner) => `[${inner}]`);
    const res = await send('/assign', `{"experiment":"x","unitId":"u","context":{"a":${ctx}}}`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('too_deep');
  });
  it('accepts ordinary nesting', async () => {
    const res = await send('/events', JSON.stringify({ events: [{ eventId: 'e1', experiment: `none-${uniqueSuffix()}`, unitId: 'u', name: 'n', context: { a: { b: { c: [1, 2] } } } }] }));
    expect(res.status).toBe(422); // unknown experiment: got past the depth check to validation
  });
});

describe('oversize bodies', () => {
  it('answers 413 with the error envelope on /assign instead of resetting the connection', async () => {
    const res = await send('/assign', JSON.stringify({ experiment: 'x', unitId: 'u', context: { pad: 'x'.repeat(1_000_000) } }));
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
    expect(res.body.error.message).toMatch(/^body: /);
  });
  it('answers 413 with the error envelope on the control plane', async () => {
    const res = await send('/events', JSON.stringify({ events: [{ eventId: 'e', experiment: 'x', unitId: 'u', name: 'n', context: { pad: 'x'.repeat(5_000_000) } }] }));
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });
});

describe('content type', () => {
  it('refuses a text/plain conclude with 415 (no CSRF through simple requests)', async () => {
    const res = await send('/experiments/some-exp/conclude', '{"winner":"b"}', { 'content-type': 'text/plain' });
    expect(res.status).toBe(415);
    expect(res.body.error.message).toMatch(/^content-type/);
  });
  it('refuses a form-encoded body with 415', async () => {
    const res = await send('/experiments/some-exp/pause', 'reason=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(415);
  });
  it('refuses a body without a content type with 415', async () => {
    const res = await send('/experiments/some-exp/pause', '{}', {});
    expect(res.status).toBe(415);
  });
});
