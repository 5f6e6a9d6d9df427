/**
 * Keys and roles: every role × every endpoint (table-driven), scoped keys (BOLA: 404), revocation,
 * hashing at rest, rate limits (429 + Retry-After), CSRF refusals, the audit actor, and the
 * loopback-only default. Runs on a database of its own: an active key changes how the API treats
 * every caller, which must not leak into suites running in parallel.
 */
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTE_PERMISSIONS, type Role, roleGrants } from '../../api/access.js';
import { Authenticator, isLoopback } from '../../api/auth.js';
import { KeyStore, hashKey } from '../../api/keys.js';
import { startApi, type RunningApi } from '../../api/main.js';
import { createPrisma } from '../../infra/prisma.js';
import { createRedis } from '../../infra/redis.js';
import { abExperiment } from '../helpers/fixtures.js';
import { testConfig, uniqueSuffix } from '../helpers/services.js';

const base = testConfig();
const dbName = `expflow_auth_${uniqueSuffix()}`;
const databaseUrl = base.databaseUrl.replace(/\/[^/?]+(\?|$)/, `/${dbName}$1`);
const config = { ...base, databaseUrl };
const admin = new pg.Client({ connectionString: base.databaseUrl });
let api: RunningApi;
const keys: Record<Role, string> = {} as Record<Role, string>;
let scopedKey: string;
let limitedKey: string;
const exp = `auth-${uniqueSuffix()}`;
const other = `auth-other-${uniqueSuffix()}`;

async function call(method: string, path: string, key?: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const json = res.headers.get('content-type')?.includes('json');
  return { status: res.status, headers: res.headers, body: text && json ? JSON.parse(text) : text || null };
}

beforeAll(async () => {
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/db-migrate.ts', databaseUrl], { stdio: 'ignore' });
  api = await startApi(config, 0);
  // With no key yet, loopback is served as a local admin: create the experiments and the keys.
  expect(api.keysConfigured).toBe(false);
  expect((await call('POST', '/experiments', undefined, abExperiment(exp))).status).toBe(201);
  expect((await call('POST', '/experiments', undefined, abExperiment(other))).status).toBe(201);
  for (const role of ['admin', 'operator', 'ingest', 'assign', 'read'] as Role[]) {
    // The first key is made from loopback with none configured; from then on the admin key is needed.
    const res = await call('POST', '/admin/keys', keys.admin, { name: `t-${role}`, role });
    expect(res.status).toBe(201);
    keys[role] = res.body.key;
  }
  scopedKey = (await call('POST', '/admin/keys', keys.admin, { name: 'scoped', role: 'operator', experiments: [exp] })).body.key;
  limitedKey = (await call('POST', '/admin/keys', keys.admin, { name: 'limited', role: 'read', rateLimitPerMinute: 3 })).body.key;
}, 120_000);
afterAll(async () => {
  await api?.close();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
  await admin.end();
});

/** One representative request per mapped route, with a body that passes validation where cheap. */
const requests: Array<{ method: string; path: string; body?: unknown; route: string }> = [
  { method: 'POST', path: '/assign', body: { experiment: exp, unitId: 'u1' }, route: '/assign' },
  { method: 'POST', path: '/events', body: { events: [{ eventId: 'e1', experiment: exp, unitId: 'u1', name: 'purchase' }] }, route: '/events' },
  { method: 'POST', path: `/experiments/${exp}/external-context`, body: { kind: 'outage', severity: 0.1 }, route: '/experiments/:key/external-context' },
  { method: 'GET', path: '/experiments', route: '/experiments' },
  { method: 'GET', path: `/experiments/${exp}/decisions`, route: '/experiments/:key/decisions' },
  { method: 'GET', path: '/models', route: '/models' },
  { method: 'POST', path: '/experiments', body: { key: 'x' }, route: '/experiments' },
  { method: 'POST', path: `/experiments/${exp}/pause`, body: { reason: 'auth test' }, route: '/experiments/:key/pause' },
  { method: 'POST', path: '/models', body: {}, route: '/models' },
  { method: 'GET', path: '/admin/keys', route: '/admin/keys' },
  { method: 'POST', path: '/admin/keys', body: { name: 'x', role: 'nope' }, route: '/admin/keys' },
  { method: 'DELETE', path: '/admin/keys/00000000-0000-0000-0000-000000000000', route: '/admin/keys/:id' },
  { method: 'GET', path: '/metrics', route: '/metrics' },
  { method: 'GET', path: '/entities/no-such-entity/report', route: '/entities/:entity/report' },
  { method: 'GET', path: '/reports/experiments', route: '/reports/experiments' },
  { method: 'GET', path: '/reports/entities', route: '/reports/entities' },
  { method: 'POST', path: '/context', body: { signals: [] }, route: '/context' },
  { method: 'POST', path: '/context/sources', body: {}, route: '/context/sources' },
  { method: 'GET', path: '/context/sources', route: '/context/sources' },
  { method: 'DELETE', path: '/context/sources/no-such-source', route: '/context/sources/:key' },
  { method: 'GET', path: '/context/signals', route: '/context/signals' },
  { method: 'DELETE', path: '/units/auth-test-nobody', route: '/units/:unitId' },
  { method: 'POST', path: '/evaluations', body: {}, route: '/evaluations' },
  { method: 'GET', path: '/evaluations/00000000-0000-0000-0000-000000000000', route: '/evaluations/:id' },
  { method: 'GET', path: '/datasets', route: '/datasets' },
  { method: 'GET', path: '/datasets/00000000-0000-0000-0000-000000000000', route: '/datasets/:id' },
  { method: 'PUT', path: '/training-policies/auth-entity/ranker', body: {}, route: '/training-policies/:entity/:modelType' },
  { method: 'GET', path: '/training-policies', route: '/training-policies' },
  { method: 'GET', path: '/training-policies/auth-entity/ranker', route: '/training-policies/:entity/:modelType' },
  { method: 'DELETE', path: '/training-policies/auth-entity/ranker', route: '/training-policies/:entity/:modelType' },
  { method: 'POST', path: '/training-policies/auth-entity/ranker/pause', body: {}, route: '/training-policies/:entity/:modelType/pause' },
  { method: 'POST', path: '/training-policies/auth-entity/ranker/resume', body: {}, route: '/training-policies/:entity/:modelType/resume' },
  { method: 'POST', path: '/training-policies/auth-entity/ranker/trigger', body: {}, route: '/training-policies/:entity/:modelType/trigger' },
  { method: 'GET', path: '/training-runs?entity=auth-entity', route: '/training-runs' },
  { method: 'GET', path: '/entities/auth-entity/models', route: '/entities/:entity/models' },
];

describe('role × endpoint', () => {
  for (const role of ['admin', 'operator', 'ingest', 'assign', 'read'] as Role[]) {
    for (const r of requests) {
      const rule = ROUTE_PERMISSIONS.find((p) => p.method === r.method && p.path === r.route)!;
      const allowed = roleGrants(role, rule.needs);
      it(`${role} ${allowed ? 'may' : 'may not'} ${r.method} ${r.route}`, async () => {
        const res = await call(r.method, r.path, keys[role], r.body);
        if (allowed) expect([401, 403], JSON.stringify(res.body)).not.toContain(res.status);
        else {
          expect(res.status).toBe(403);
          expect(res.body.error.code).toBe('forbidden');
        }
      });
    }
  }
  it('every mapped route is exercised above or public', () => {
    const covered = new Set(requests.map((r) => `${r.method} ${r.route}`));
    const unexercised = ROUTE_PERMISSIONS.filter((p) => p.needs !== 'public' && !covered.has(`${p.method} ${p.path}`)).map((p) => `${p.method} ${p.path}`);
    // These share their rule with an exercised route of the same permission (operate/read).
    expect(unexercised.every((r) => /^(POST \/experiments\/:key\/(allocation|resume|stop|run-cycle|conclude|arms\/reenable|srm\/acknowledge)|POST \/(models\/promote|predictions|dead-letters\/replay)|GET \/(models\/shadow-scores|dead-letters)|GET \/experiments\/:key(\/report)?)$/.test(r)), unexercised.join()).toBe(true);
  });
  it('an unmapped route needs admin', async () => {
    expect((await call('GET', '/no-such-route', keys.read)).status).toBe(403);
    expect((await call('GET', '/no-such-route', keys.admin)).status).toBe(404);
  });
});

describe('authentication', () => {
  it('refuses a missing, unknown or revoked key with 401', async () => {
    expect((await call('GET', '/experiments')).status).toBe(401);
    expect((await call('GET', '/experiments', 'efk_not-a-key')).status).toBe(401);
    const made = await call('POST', '/admin/keys', keys.admin, { name: 'short-lived', role: 'read' });
    expect((await call('GET', '/experiments', made.body.key)).status).toBe(200);
    expect((await call('DELETE', `/admin/keys/${made.body.id}`, keys.admin)).status).toBe(200);
    expect((await call('GET', '/experiments', made.body.key)).status).toBe(401);
  });
  it('stores only a hash and shows the key once', async () => {
    const rows = new pg.Client({ connectionString: databaseUrl });
    await rows.connect();
    const stored = await rows.query(`SELECT hash, prefix FROM "ApiKey"`);
    await rows.end();
    const all = Object.values(keys);
    expect(stored.rows.some((r) => all.includes(r.hash))).toBe(false);
    expect(stored.rows.map((r) => r.hash)).toContain(hashKey(keys.read));
    const listed = await call('GET', '/admin/keys', keys.admin);
    expect(JSON.stringify(listed.body)).not.toContain(keys.read);
    expect(JSON.stringify(listed.body)).not.toContain(hashKey(keys.read));
  });
  it('keeps health public', async () => {
    expect((await call('GET', '/health')).status).toBe(200);
  });
});

describe('scoped keys (object-level authorisation)', () => {
  it('reaches its own experiment', async () => {
    expect((await call('GET', `/experiments/${exp}/decisions`, scopedKey)).status).toBe(200);
  });
  it('gets 404 for another experiment, as if it did not exist', async () => {
    const res = await call('GET', `/experiments/${other}/decisions`, scopedKey);
    expect(res.status).toBe(404);
    expect((await call('POST', `/experiments/${other}/pause`, scopedKey, { reason: 'x' })).status).toBe(404);
    expect((await call('POST', '/assign', keys.assign, { experiment: other, unitId: 'u' })).status).toBe(200);
  });
  it('lists only its experiments', async () => {
    const res = await call('GET', '/experiments', scopedKey);
    expect(res.body.experiments.map((e: { key: string }) => e.key)).toEqual([exp]);
  });
  it('a scoped ingest key sends events and context only for its experiments', async () => {
    const k = (await call('POST', '/admin/keys', keys.admin, { name: 'scoped-ingest', role: 'ingest', experiments: [exp] })).body.key;
    const ev = (id: string, extra: Record<string, unknown>) => ({ eventId: `scoped-${uniqueSuffix()}-${id}`, unitId: 'u-scoped', name: 'purchase', ...extra });
    const mine = await call('POST', '/events', k, [ev('a', { experiment: exp }), ev('b', { experiment: other }), ev('c', {})]);
    expect(mine.status, JSON.stringify(mine.body)).toBe(202);
    expect(mine.body.accepted).toBe(1);
    expect(mine.body.rejected).toEqual([
      { index: 1, errors: [{ field: 'experiment', message: `no experiment '${other}'` }] },
      { index: 2, errors: [{ field: 'experiment', message: expect.stringMatching(/^required: this key is limited to experiments/) }] },
    ]);
    // Only another experiment's events: answered as if it did not exist.
    const theirs = await call('POST', '/events', k, [ev('d', { experiment: other })]);
    expect(theirs.status).toBe(422);
    expect(theirs.body.error.message).toBe(`events[0].experiment: no experiment '${other}'`);
    // The unscoped ingest key may send either.
    expect((await call('POST', '/events', keys.ingest, [ev('e', { experiment: other }), ev('f', {})])).body).toMatchObject({ accepted: 2, rejected: [] });

    const signal = (scope: unknown) => ({ source: 'scoped', name: 'load', value: 1, timestamp: new Date().toISOString(), scope });
    expect((await call('POST', '/context', k, signal([exp]))).status).toBe(202);
    for (const [scope, i] of [['global', 0], [[exp, other], 0], [{ country: 'PT' }, 0]] as const) {
      const r = await call('POST', '/context', k, [signal(scope)]);
      expect(r.status, JSON.stringify(scope)).toBe(400);
      expect(r.body.error.message).toMatch(new RegExp(`^signals\\[${i}\\]\\.scope: this key is limited to experiments`));
    }
  });

  it('a scoped assign key gets 404 for other experiments on /assign', async () => {
    const k = (await call('POST', '/admin/keys', keys.admin, { name: 'sdk', role: 'assign', experiments: [exp] })).body.key;
    expect((await call('POST', '/assign', k, { experiment: exp, unitId: 'u' })).status).toBe(200);
    expect((await call('POST', '/assign', k, { experiment: other, unitId: 'u' })).status).toBe(404);
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After past the key limit', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 5; i++) {
      const res = await call('GET', '/models', limitedKey);
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(3);
    expect(statuses).toContain(429);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });
});

describe('CSRF and the audit actor', () => {
  it('refuses cross-site browser requests on control routes', async () => {
    const body = { reason: 'csrf' };
    expect((await call('POST', `/experiments/${exp}/pause`, keys.operator, body, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await call('POST', `/experiments/${exp}/pause`, keys.operator, body, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
  });
  it('records the key as actor, the claimed name only as a note', async () => {
    const res = await call('POST', '/admin/keys', keys.admin, { name: 'audited', role: 'read' }, { 'x-actor': 'eve' });
    expect(res.status).toBe(201);
    const c = new pg.Client({ connectionString: databaseUrl });
    await c.connect();
    const rows = (await c.query(`SELECT actor, target FROM "AuditLog" WHERE action = 'key.create' ORDER BY id`)).rows;
    await c.end();
    expect(rows[0].actor).toBe('local');
    expect(rows.find((r) => r.target === res.body.id)?.actor).toBe('key:t-admin (on behalf of eve)');
  });
});

describe('no keys configured', () => {
  it('serves loopback callers only', async () => {
    const prisma = createPrisma(databaseUrl);
    const store = new KeyStore(prisma);
    const redis = createRedis(base.redisUrl);
    // A store with no active key: the same check the API runs, from a non-loopback address.
    const auth = new Authenticator({ anyActive: async () => false, find: async () => null } as unknown as KeyStore, redis);
    const fake = (remoteAddress: string) => ({ method: 'POST', url: `/experiments/${exp}/pause`, headers: {}, socket: { remoteAddress } }) as never;
    await expect(auth.authorize(fake('10.0.0.5'))).rejects.toMatchObject({ status: 401 });
    await expect(auth.authorize(fake('127.0.0.1'))).resolves.toMatchObject({ actor: 'local' });
    expect(isLoopback('::ffff:127.0.0.1')).toBe(true);
    expect(await store.anyActive()).toBe(true);
    redis.disconnect();
    await prisma.$disconnect();
  });
});
