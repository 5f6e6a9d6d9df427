/**
 * Real services for integration tests: the project's Temporal dev server, PostgreSQL (the test
 * database) and Redis, as brought up by scripts/test.sh. Nothing here is a mock.
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../config.js';

/**
 * Config pointing at the test database; each suite gets its own task queue, events and
 * notifications queues, a free port for the worker's /metrics, and no timed alert scan (tests that
 * need one run it themselves).
 */
export function testConfig(overrides: Partial<Config> = {}): Config {
  const base = loadConfig();
  const databaseUrl = process.env.TEST_DATABASE_URL ?? base.databaseUrl.replace(/\/expflow(\?|$)/, '/expflow_test$1');
  // The analytics queue too: left at the default, a test's workflows would send their analytics steps
  // to any worker on 'expflow' (a running demo's, on another database).
  // No maintenance schedule per suite: it would outlive the suite's task queue.
  const taskQueue = `test-${uniqueSuffix()}`;
  // A free port for the worker's /metrics and no timed alert scan (tests that need one run it).
  return {
    ...base,
    databaseUrl,
    taskQueue,
    analyticsTaskQueue: taskQueue,
    apiPort: 0,
    maintenanceSchedule: false,
    workerMetricsPort: 0,
    // Its own exposure spool: a spool replay claims every file in its directory, so suites sharing
    // one would replay each other's exposures through the wrong worker.
    exposureSpoolDir: join(tmpdir(), `expflow-spool-${taskQueue}`),
    alerts: { ...base.alerts, scanIntervalMs: 3_600_000 },
    // Its own events and notifications queues: on the shared ones another file's worker would take
    // this file's jobs (with its own database, webhook secret or none) and this file's worker theirs.
    events: { ...base.events, queue: `test-events-${taskQueue}` },
    notificationsQueue: `test-notifications-${taskQueue}`,
    ...overrides,
  };
}

export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

/** Polls until `fn` returns a truthy value or the deadline passes. */
export async function waitFor<T>(fn: () => Promise<T | null | undefined | false>, opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? 'condition'}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
}
