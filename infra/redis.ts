/** ioredis connections. BullMQ workers need maxRetriesPerRequest: null on theirs. */
import { Redis } from 'ioredis';

export function createRedis(url: string, opts: { forBullmq?: boolean } = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: opts.forBullmq ? null : 3, lazyConnect: false });
}
export type { Redis };
