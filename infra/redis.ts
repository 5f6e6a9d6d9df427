/**
 * ioredis connections. BullMQ workers need maxRetriesPerRequest: null on theirs. `failFast`
 * rejects commands at once while disconnected instead of queueing them (for producers that have
 * somewhere else to put the data, such as the exposure spool).
 */
import { Redis } from 'ioredis';

export interface RedisOptions {
  forBullmq?: boolean;
  /**
   * Fail commands at once while disconnected instead of queueing them until Redis returns: for the
   * request path, where a late command would act for a caller that has already given up.
   */
  failFast?: boolean;
}

export function createRedis(url: string, opts: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: opts.forBullmq ? null : opts.failFast ? 0 : 3,
    enableOfflineQueue: !opts.failFast,
    lazyConnect: false,
  });
  // ioredis reconnects by itself; log a lost connection once per outage instead of per retry.
  let reported = false;
  redis.on('error', (err: Error) => {
    if (!reported) console.error(`[redis] ${err.message}; reconnecting`);
    reported = true;
  });
  redis.on('ready', () => (reported = false));
  return redis;
}

/** Resolves once the connection is ready (or rejects after `timeoutMs`). */
export function redisReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`redis not ready after ${timeoutMs} ms`)), timeoutMs);
    redis.once('ready', () => {
      clearTimeout(t);
      resolve();
    });
  });
}
export type { Redis };
