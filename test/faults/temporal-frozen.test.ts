/**
 * A Temporal server that keeps its connections but answers nothing (SIGSTOP: frozen, swapped out,
 * a half-open link). Control calls that need it answer 503 with Retry-After within the API's
 * TEMPORAL_RPC_TIMEOUT rather than hanging (before: POST /experiments, pause and PUT
 * /training-policies waited with no end), nothing is left half-written, /assign keeps serving, and
 * once the server runs again the same calls succeed.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../../api/main.js';
import type { Config } from '../../config.js';
import { abExperiment } from '../helpers/fixtures.js';
import { recordFault } from '../helpers/fault-report.js';
import { PrivateTemporal } from '../helpers/private-temporal.js';
import { testConfig, uniqueSuffix } from '../helpers/services.js';

let server: PrivateTemporal;
let config: Config;
let db: pg.Pool;
let api: RunningApi;

beforeAll(async () => {
  server = await PrivateTemporal.start(testConfig().temporalCli);
  config = testConfig({ temporalAddress: server.address, temporalRpcTimeoutMs: 2_000 });
  db = new pg.Pool({ connectionString: config.databaseUrl, max: 2 });
  api = await startApi(config, 0);
}, 120_000);
afterAll(async () => {
  server?.thaw();
  await api?.close();
  await db?.end();
  await server?.destroy();
}, 60_000);

async function call(method: string, path: string, body?: unknown) {
  // The test's own bound: a request still open after a minute is the hang this test is about.
  const res = await fetch(`${api.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(60_000) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as any };
}

const rows = async (sql: string, args: unknown[]) => (await db.query(sql, args)).rowCount ?? 0;

describe('Temporal server frozen', () => {
  it('control calls answer 503 with Retry-After, write nothing, and succeed once it runs again', { timeout: 300_000 }, async () => {
    const t0 = Date.now();
    const s = uniqueSuffix();
    const running = `frozen-a-${s}`;
    const fresh = `frozen-b-${s}`;
    const entity = `frozen-${s}`;
    const policy = { frequency: { every: '1d' }, trainer: { kind: 'bullmq', queue: `q-${s}` }, dataset: { id: 'd' } };
    expect((await call('POST', '/experiments', abExperiment(running, { cycleIntervalSeconds: 3600 }))).status).toBe(201);

    server.freeze();
    const pause = await call('POST', `/experiments/${running}/pause`, {});
    const create = await call('POST', '/experiments', abExperiment(fresh, { cycleIntervalSeconds: 3600 }));
    const train = await call('PUT', `/training-policies/${entity}/ranker`, policy);
    const assign = await call('POST', '/assign', { experiment: running, unitId: `u-${s}` });
    const leftRows = (await rows('SELECT 1 FROM "Experiment" WHERE key = $1', [fresh])) + (await rows('SELECT 1 FROM "TrainingPolicy" WHERE entity = $1', [entity]));
    server.thaw();

    expect([pause.status, pause.body.error?.code, pause.retryAfter]).toEqual([503, 'temporal_unavailable', '5']);
    expect(create.status).toBe(503);
    expect(train.status).toBe(503);
    expect(assign.status).toBe(200);
    expect(leftRows).toBe(0);

    // Running again: the same calls go through (retried until the thawed server answers).
    const again = async (method: string, path: string, body: unknown, ok: number) => {
      for (let i = 0; i < 30; i++) {
        const r = await call(method, path, body);
        if (r.status === ok) return r.status;
        if (r.status !== 503) return r.status;
      }
      return -1;
    };
    expect(await again('POST', `/experiments/${running}/pause`, {}, 202)).toBe(202);
    expect(await again('POST', '/experiments', abExperiment(fresh, { cycleIntervalSeconds: 3600 }), 201)).toBe(201);
    expect(await again('PUT', `/training-policies/${entity}/ranker`, policy, 200)).toBe(200);
    recordFault({
      fault: 'Temporal server frozen (SIGSTOP) under control calls',
      in: { 'control calls while frozen': 3, 'assign while frozen': 1 },
      out: { '503 answers': [pause, create, train].filter((r) => r.status === 503).length, 'assign 200': assign.status === 200 ? 1 : 0, 'rows left by refused calls': leftRows },
      lost: 0,
      doubled: 0,
      seconds: Math.round((Date.now() - t0) / 1000),
    });
  });
});
