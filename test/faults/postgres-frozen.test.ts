/**
 * A PostgreSQL that keeps its connections but answers nothing (SIGSTOP on the postmaster and every
 * backend: frozen, swapped out, a half-open link). The data plane does not need it: /assign answers
 * from the snapshot cache and POST /events acknowledges into the queue, also once the API's key
 * list is due for its reload (before: every request waited behind that reload, with no end). Once
 * it runs again, every acknowledged event and served exposure is stored once.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../../api/main.js';
import type { Config } from '../../config.js';
import { createPrisma } from '../../infra/prisma.js';
import { createRedis } from '../../infra/redis.js';
import { pseudonymiseUnitId } from '../../infra/unit-pseudonym.js';
import { startWorker, type RunningWorker } from '../../worker.js';
import { abExperiment, createExperimentRow } from '../helpers/fixtures.js';
import { recordFault } from '../helpers/fault-report.js';
import { PrivatePostgres } from '../helpers/private-postgres.js';
import { testConfig, uniqueSuffix, waitFor } from '../helpers/services.js';

let server: PrivatePostgres;
let config: Config;
let db: pg.Pool;
let api: RunningApi;
let worker: RunningWorker;

beforeAll(async () => {
  server = await PrivatePostgres.start();
  config = testConfig({ databaseUrl: server.url, stickyTimeoutMs: 10_000 });
  db = new pg.Pool({ connectionString: config.databaseUrl, max: 2 });
  [api, worker] = await Promise.all([startApi(config, 0), startWorker(config)]);
}, 180_000);
afterAll(async () => {
  server?.thaw();
  await api?.close();
  await worker?.close();
  await db?.end();
  await server?.destroy();
}, 120_000);

async function post(path: string, body: unknown) {
  // The test's own bound: a request still open after 30 s is the hang this test is about.
  const res = await fetch(`${api.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as any };
}

describe('PostgreSQL frozen', () => {
  it('/assign and POST /events keep answering; afterwards every exposure and event is stored once', { timeout: 300_000 }, async () => {
    const t0 = Date.now();
    const s = uniqueSuffix();
    const key = `pg-frozen-${s}`;
    const prisma = createPrisma(config.databaseUrl);
    const redis = createRedis(config.redisUrl);
    try {
      await createExperimentRow(prisma, redis, abExperiment(key, { metrics: [{ key: 'purchase', event: `purchase-${s}`, type: 'binary', role: 'primary' }] }));
    } finally {
      await prisma.$disconnect();
      redis.disconnect();
    }
    await waitFor(async () => api.cache.has(key), { what: 'the experiment in the API cache' });
    expect((await post('/assign', { experiment: key, unitId: `${s}-warm` })).status).toBe(200);

    server.freeze();
    const frozenAt = Date.now();
    const units: string[] = [];
    const acknowledged: string[] = [];
    const answers: string[] = [];
    try {
      // Past the key list's 2 s reload, so at least one request finds it due while nothing answers.
      for (let i = 0; Date.now() - frozenAt < 4_000 || i < 5; i++) {
        const unitId = `${s}-u${i}`;
        const a = await post('/assign', { experiment: key, unitId });
        answers.push(String(a.status));
        if (a.status === 200 && a.body.enrolled) units.push(unitId);
        // Events for the first 200 units only: nothing drains the queue while Postgres is frozen, and
        // past EVENTS_MAX_QUEUE_DEPTH the API pushes back with 429 (by design). A loaded machine may
        // also refuse an event it cannot queue in time (503); a client sends it again.
        for (let attempt = 0; i < 200 && attempt < 20; attempt++) {
          const e = await post('/events', [{ eventId: `${s}-e${i}`, unitId, name: `purchase-${s}` }]);
          answers.push((e.status === 503 || e.status === 429) && e.retryAfter ? `${e.status}+retry-after` : String(e.status));
          if (e.status === 202) {
            acknowledged.push(`${s}-e${i}`);
            break;
          }
          if (e.status !== 503) break;
        }
      }
    } finally {
      server.thaw();
    }
    expect(answers.filter((a) => !['200', '202', '503+retry-after', '429+retry-after'].includes(a))).toEqual([]);
    expect(units.length).toBeGreaterThanOrEqual(5);
    expect(acknowledged.length).toBeGreaterThanOrEqual(5);

    const stored = (u: string) => pseudonymiseUnitId(config.unitIdKey, u);
    const counts = async () => {
      const ex = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "Assignment" a JOIN "Experiment" x ON x.id = a."experimentId" WHERE x.key = $1 AND a."unitId" = ANY($2)`, [key, units.map(stored)]);
      const ev = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "Event" WHERE "eventId" = ANY($1)`, [acknowledged]);
      return { exposures: ex.rows[0]?.n ?? 0, events: ev.rows[0]?.n ?? 0 };
    };
    const final = await waitFor(async () => {
      const c = await counts();
      return c.exposures >= units.length && c.events >= acknowledged.length ? c : null;
    }, { what: 'every exposure and event stored after the thaw', timeoutMs: 120_000 });
    recordFault({
      fault: 'PostgreSQL frozen (SIGSTOP) under /assign and /events',
      in: { 'exposures served': units.length, 'events acknowledged (202)': acknowledged.length },
      out: { 'Assignment rows': final.exposures, 'Event rows': final.events },
      lost: units.length - final.exposures + acknowledged.length - final.events,
      doubled: 0,
      seconds: Math.round((Date.now() - t0) / 1000),
    });
    expect(final).toEqual({ exposures: units.length, events: acknowledged.length });
  });
});
