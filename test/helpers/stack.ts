/** The running system for a test file: a worker and an API process on the real services. */
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { startApi, type RunningApi } from '../../api/main.js';
import type { Config } from '../../config.js';
import { createQueues, type Queues } from '../../infra/queues.js';
import { createRedis, type Redis } from '../../infra/redis.js';
import { startWorker, type RunningWorker } from '../../worker.js';
import { testConfig } from './services.js';

export interface Stack {
  config: Config;
  api: RunningApi;
  worker: RunningWorker;
  /** POSTs JSON to the API and returns status and parsed body. */
  post(path: string, body: unknown): Promise<{ status: number; body: any }>;
  get(path: string): Promise<{ status: number; body: any }>;
}

/** Starts a worker and an API before the file's tests and stops them after. */
export function useStack(overrides: Partial<Config> = {}): Stack {
  // A loaded CI machine can starve a 250 ms Redis round trip, and /assign then answers degraded by
  // design; these suites test the healthy path (test/faults tests the degraded one).
  // testConfig gives the file's API and worker a task queue, events and notifications queues of their own.
  const stack = { config: testConfig({ stickyTimeoutMs: 10_000, ...overrides }) } as Stack;
  beforeAll(async () => {
    stack.worker = await startWorker(stack.config);
    stack.api = await startApi(stack.config, 0);
  });
  afterAll(async () => {
    await stack.api?.close();
    await stack.worker?.close();
  });
  stack.post = async (path, body) => {
    const res = await fetch(`${stack.api.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  };
  stack.get = async (path) => {
    const res = await fetch(`${stack.api.url}${path}`);
    return { status: res.status, body: await res.json() };
  };
  return stack;
}

/** Starts an API process alone (no worker) on `config` before the file's tests and stops it after. */
export function useApi(config: Config): Pick<RunningApi, 'url' | 'cache'> {
  let api: RunningApi | undefined;
  beforeAll(async () => {
    api = await startApi(config, 0);
  });
  afterAll(async () => {
    await api?.close();
  });
  const running = () => {
    if (!api) throw new Error('the API has not started');
    return api;
  };
  return {
    get url() {
      return running().url;
    },
    get cache() {
      return running().cache;
    },
  };
}

export interface Stores {
  db: pg.Pool;
  redis: Redis;
  /** The file's own events and notifications queues (testConfig names them per file). */
  queues: Queues;
}

/** Direct connections to what `config`'s services store, for checking it; closed after the file's tests. */
export function useStores(config: Config): Stores {
  const db = new pg.Pool({ connectionString: config.databaseUrl, max: 2 });
  const redis = createRedis(config.redisUrl);
  const bull = createRedis(config.redisUrl, { forBullmq: true });
  const queues = createQueues(bull, { eventsQueue: config.events.queue, notificationsQueue: config.notificationsQueue });
  afterAll(async () => {
    await db.end();
    await queues.close();
    redis.disconnect();
    bull.disconnect();
  });
  return { db, redis, queues };
}
