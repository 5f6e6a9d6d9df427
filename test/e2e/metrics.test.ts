/**
 * /metrics on the API and on the worker after real traffic: the counters agree with the database
 * (assignments and exposures per variant, events, decisions), the latency histogram counted every
 * request, and the snapshot gauge shows the version served.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pseudonymiseUnitId } from '../../infra/unit-pseudonym.js';
import { driveTraffic } from '../../sim/traffic.js';
import { abExperiment } from '../helpers/fixtures.js';
import { uniqueSuffix, waitFor } from '../helpers/services.js';
import { useStack } from '../helpers/stack.js';

const stack = useStack();
const db = new pg.Client({ connectionString: stack.config.databaseUrl });
beforeAll(() => db.connect());
afterAll(() => db.end());

/** The value of one sample line `name{labels} value`, labels matched exactly (order-free); 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.keys(labels).length === Object.keys(got).length && Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return 0;
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

describe('prometheus metrics', () => {
  it('count what the database holds', async () => {
    const key = `metrics-${uniqueSuffix()}`;
    const created = await stack.post('/experiments', abExperiment(key, { cycleIntervalSeconds: 3600, policy: { kind: 'fixed' } }));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const expId = created.body.id as string;
    const traffic = await driveTraffic({ apiUrl: stack.api.url, experiment: key, unitPrefix: key, count: 800, effect: { base: 0.1, rates: { control: 0.1, treatment: 0.15 } }, seed: 3 });
    // A few units ask twice: counted as assignments, written once.
    for (let i = 0; i < 20; i++) await stack.post('/assign', { experiment: key, unitId: `${key}-${i}` });
    const eventsSent = traffic.enrolled + traffic.conversions;
    await waitFor(async () => {
      const r = await db.query<{ a: number; e: number }>('SELECT (SELECT count(*)::int FROM "Assignment" WHERE "experimentId" = $1) AS a, (SELECT count(*)::int FROM "Event" WHERE "experimentId" = $1) AS e', [expId]);
      return r.rows[0]!.a === traffic.enrolled && r.rows[0]!.e === eventsSent;
    }, { what: 'ingestion', timeoutMs: 60_000 });
    const r = await stack.post(`/experiments/${key}/run-cycle`, { reason: 'metrics test' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);

    const perVariant = (await db.query<{ variant: string; n: number }>('SELECT variant, count(*)::int AS n FROM "Assignment" WHERE "experimentId" = $1 GROUP BY variant ORDER BY variant', [expId])).rows;
    expect(perVariant.map((v) => v.variant)).toEqual(['control', 'treatment']);
    const events = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM "Event" WHERE "experimentId" = $1', [expId])).rows[0]!.n;
    const decisions = (await db.query<{ outcome: string; n: number }>('SELECT outcome, count(*)::int AS n FROM "Decision" WHERE "experimentId" = $1 GROUP BY outcome', [expId])).rows;

    const apiText = await scrape(stack.api.url);
    const repeats = Object.fromEntries(perVariant.map((v) => [v.variant, 0]));
    // The API stores unit ids pseudonymised (HMAC under UNIT_ID_KEY), so look the repeats up by pseudonym.
    for (let i = 0; i < 20; i++) {
      const stored = pseudonymiseUnitId(stack.config.unitIdKey, `${key}-${i}`);
      const v = (await db.query<{ variant: string }>('SELECT variant FROM "Assignment" WHERE "experimentId" = $1 AND "unitId" = $2', [expId, stored])).rows[0]!.variant;
      repeats[v]!++;
    }
    for (const v of perVariant) {
      expect(sample(apiText, 'expflow_assignments_total', { experiment: key, variant: v.variant, enrolled: 'true' })).toBe(v.n + repeats[v.variant]!);
    }
    expect(sample(apiText, 'expflow_events_accepted_total', { experiment: key })).toBe(events);
    expect(sample(apiText, 'expflow_http_request_duration_seconds_count', { method: 'POST', route: '/assign', status: '200' })).toBeGreaterThanOrEqual(traffic.assigned + 20);
    expect(sample(apiText, 'expflow_http_request_duration_seconds_count', { method: 'POST', route: '/events', status: '202' })).toBeGreaterThanOrEqual(1);
    // Against the newest stored version at each look: a snapshot stored after a single read (a
    // cycle still finishing under load) would move the gauge past it for good.
    await waitFor(async () => {
      const newest = (await db.query<{ v: number }>('SELECT max(version)::int AS v FROM "AllocationSnapshot" WHERE "experimentId" = $1', [expId])).rows[0]?.v;
      return newest != null && sample(await scrape(stack.api.url), 'expflow_snapshot_version', { experiment: key }) === newest;
    }, { what: 'snapshot gauge at the newest stored version', timeoutMs: 60_000 });

    expect(stack.worker.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const workerText = await scrape(stack.worker.metricsUrl!);
    for (const v of perVariant) expect(sample(workerText, 'expflow_exposures_written_total', { experiment: key, variant: v.variant })).toBe(v.n);
    expect(sample(workerText, 'expflow_events_written_total', { experiment: key })).toBe(events);
    for (const d of decisions) expect(sample(workerText, 'expflow_decisions_total', { outcome: d.outcome })).toBe(d.n);
    // A cycle runs as one runCycle activity (per-cycle mode, the default) or as its steps (collectData first).
    const cycles = ['runCycle', 'collectData'].reduce((a, activity) => a + sample(workerText, 'expflow_activity_duration_seconds_count', { activity, outcome: 'ok' }), 0);
    expect(cycles).toBe(decisions.reduce((a, d) => a + d.n, 0));
    expect(sample(workerText, 'expflow_ingest_lag_seconds_count', {})).toBeGreaterThan(0);
    expect(workerText).toMatch(/expflow_queue_jobs\{queue="[^"]+",state="waiting"\} \d+/);
  }, 180_000);
});
