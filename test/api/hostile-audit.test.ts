/**
 * Hostile input found by the audit probe (scripts/hostile-probe.ts): each case was a 5xx or a hang
 * before its fix. Answers must be 4xx in the error envelope, naming the offending part.
 */
import { describe, expect, it } from 'vitest';
import { testConfig } from '../helpers/services.js';
import { useApi } from '../helpers/stack.js';

const config = testConfig();
const api = useApi(config);

async function call(method: string, path: string, body?: string) {
  const headers: Record<string, string> = {};
  if (config.apiToken) headers.authorization = `Bearer ${config.apiToken}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(new URL(path, api.url), { method, headers, body });
  return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
}

describe('malformed percent-encoding in a path id', () => {
  it.each([
    ['GET', '/experiments/%FF'],
    ['GET', '/experiments/%ED%A0%80/decisions'],
    ['POST', '/experiments/%E0%A4%A/pause'],
    ['GET', '/evaluations/%FF'],
    ['GET', '/datasets/%C0'],
    ['DELETE', '/units/%FF'],
    ['DELETE', '/admin/keys/%FF'],
    ['DELETE', '/context/sources/%FF'],
  ])('%s %s answers 400 naming the path parameter, not 500', async (method, path) => {
    const res = await call(method, path, method === 'POST' ? '{}' : undefined);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/^(key|id|unitId): /);
  });
});

describe('NUL bytes in path ids and query parameters (PostgreSQL text cannot hold them)', () => {
  it.each([
    ['DELETE', '/units/%00', 'unitId'],
    ['DELETE', '/units/a%00b', 'unitId'],
    ['GET', '/experiments/a%00b', 'key'],
    ['GET', '/datasets?entity=%00', 'entity'],
    ['GET', '/context/signals?source=a%00b', 'source'],
    ['GET', '/models?entity=a%00b', 'entity'],
    ['GET', '/models/shadow-scores?entity=a%00&modelType=t', 'entity'],
  ])('%s %s answers 400 naming %s, not 500', async (method, path, field) => {
    const res = await call(method, path);
    expect(res.status).toBe(400);
    expect(res.body.error.message.startsWith(`${field}`)).toBe(true);
  });
});

describe('a body that is one of several shapes names the field of the shape it was meant as', () => {
  it.each([
    ['/experiments/any-exp/allocation', { weights: null, reason: 'r' }, 'weights'],
    ['/experiments/any-exp/allocation', { weights: { control: 'x' } }, 'weights.control'],
    ['/experiments/any-exp/allocation', { clear: false }, 'clear'],
    ['/dead-letters/replay', { ids: null }, 'ids'],
    ['/dead-letters/replay', { ids: ['1', -1] }, 'ids[1]'],
    ['/dead-letters/replay', { all: true, limit: 0 }, 'limit'],
  ])('POST %s %j → 400 naming %s', async (path, body, field) => {
    const res = await call('POST', path, JSON.stringify(body));
    expect(res.status).toBe(400);
    expect(res.body.error.message.startsWith(`${field}: `), res.body.error.message).toBe(true);
  });
});
