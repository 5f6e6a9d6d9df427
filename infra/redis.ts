/**
 * ioredis connections. BullMQ workers need maxRetriesPerRequest: null on theirs. `failFast`
 * rejects commands at once while disconnected instead of queueing them (for producers that have
 * somewhere else to put the data, such as the exposure spool).
 */
import { Redis } from 'ioredis';

export function createRedis(url: string, opts: { forBullmq?: boolean; failFast?: boolean } = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: opts.forBullmq ? null : 3, lazyConnect: false, ...(opts.failFast ? { enableOfflineQueue: false } : {}) });
}
export type { Redis };
