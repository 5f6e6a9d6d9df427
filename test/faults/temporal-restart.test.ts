/**
 * The Temporal server crashed (SIGKILL) and restarted on its persistent SQLite file while an
 * experiment runs short cycles: a dev server of this file's own, with the worker as a child process
 * and the API in-process. The experiment goes on after the restart and ends at maxCycles with every
 * cycle run once: one runCycle scheduled per cycle in its history, one Decision row per cycle.
 */
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../../api/main.js';
import type { Config } from '../../config.js';
import { abExperiment } from '../helpers/fixtures.js';
import { postJson } from '../helpers/http.js';
import { recordFault } from '../helpers/fault-report.js';
import { PrivateTemporal } from '../helpers/private-temporal.js';
import { kill, spawnWorker, type Child } from '../helpers/processes.js';
import { testConfig, uniqueSuffix, waitFor } from '../helpers/services.js';

const MAX_CYCLES = 8;
/** How long the server stays down, at least. */
const OUTAGE_MS = 3_000;
let server: PrivateTemporal;
let config: Config;
let db: pg.Pool;
let worker: Child;
let api: RunningApi;

beforeAll(async () => {
  server = await PrivateTemporal.start(testConfig().temporalCli);
  config = testConfig({ temporalAddress: server.address });
  db = new pg.Pool({ connectionString: config.databaseUrl, max: 2 });
  [worker, api] = await Promise.all([spawnWorker(config), startApi(config, 0)]);
}, 120_000);
afterAll(async () => {
  await kill(worker);
  await api?.close();
  await db?.end();
  await server?.destroy();
}, 60_000);

async function decisionCycles(key: string): Promise<number[]> {
  const { rows } = await db.query<{ cycle: number }>(`SELECT d.cycle FROM "Decision" d JOIN "Experiment" x ON x.id = d."experimentId" WHERE x.key = $1 ORDER BY d.cycle`, [key]);
  return rows.map((r) => r.cycle);
}

async function temporalDown(): Promise<boolean> {
  const res = await fetch(`${api.url}/health`).catch(() => null);
  const body = (await res?.json().catch(() => null)) as { checks?: { temporal?: { status?: string } } } | null;
  return body?.checks?.temporal?.status !== undefined && body.checks.temporal.status !== 'up';
}

describe('Temporal server restart', () => {
  it('a running experiment continues after the restart; every cycle runs once', { timeout: 180_000 }, async () => {
    const t0 = Date.now();
    const key = `fault-temporal-${uniqueSuffix()}`;
    const created = await postJson(`${api.url}/experiments`, abExperiment(key, { cycleIntervalSeconds: 2, maxCycles: MAX_CYCLES, policy: { kind: 'fixed' } }));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await waitFor(async () => (await decisionCycles(key)).length >= 2, { what: 'two cycles decided', timeoutMs: 60_000 });

    await server.crash();
    const downAt = Date.now();
    const cyclesAtCrash = (await decisionCycles(key)).length;
    await waitFor(async () => Date.now() - downAt >= OUTAGE_MS && (await temporalDown()), { what: 'the API seeing Temporal down', timeoutMs: 30_000 });
    await server.up();
    const outageMs = Date.now() - downAt;

    const connection = await Connection.connect({ address: server.address });
    try {
      const handle = new Client({ connection, namespace: config.temporalNamespace }).workflow.getHandle(`experiment-${key}`);
      const state = (await waitFor(async () => ((await handle.describe()).status.name === 'COMPLETED' ? handle.result() : null), {
        what: `the experiment reaching maxCycles after the restart (worker:\n${worker.output().slice(-2000)})`,
        timeoutMs: 120_000,
        intervalMs: 500,
      })) as { cycle: number; phase: string };
      const history = historyToJSON(await handle.fetchHistory());
      const scheduled = (JSON.parse(history) as { events: Array<{ activityTaskScheduledEventAttributes?: { activityType?: { name?: string }; input?: { payloads?: Array<{ data?: string }> } } }> }).events
        .map((e) => e.activityTaskScheduledEventAttributes)
        .filter((a) => a?.activityType?.name === 'runCycle')
        .map((a) => (JSON.parse(Buffer.from(a?.input?.payloads?.[0]?.data ?? '', 'base64').toString('utf8')) as { cycle: number }).cycle);
      const decided = await decisionCycles(key);
      const expected = Array.from({ length: MAX_CYCLES }, (_, i) => i + 1);
      const lost = expected.filter((c) => !decided.includes(c)).length;
      const doubled = decided.length - new Set(decided).size + (scheduled.length - new Set(scheduled).size);
      recordFault({
        fault: 'Temporal server SIGKILL + restart (SQLite file kept)',
        in: { 'cycles planned': MAX_CYCLES, 'cycles before crash': cyclesAtCrash },
        out: { 'final cycle': state.cycle, 'runCycle scheduled': scheduled.length, 'Decision rows': decided.length, 'outage ms': outageMs },
        lost,
        doubled,
        seconds: Math.round((Date.now() - t0) / 1000),
      });
      expect(cyclesAtCrash).toBeLessThan(MAX_CYCLES);
      expect(state.cycle).toBe(MAX_CYCLES);
      expect(scheduled).toEqual(expected);
      expect(decided).toEqual(expected);
      expect(worker.alive(), worker.output().slice(-3000)).toBe(true);
    } finally {
      await connection.close();
    }
  });
});
