/**
 * Redis on the control plane. A call that must write to Redis (a new experiment's snapshot, a
 * unit's sticky records, current context signals) refuses up front while Redis is unreachable,
 * with 503 and Retry-After, rather than writing Postgres half and then waiting out ioredis's
 * reconnect retries. Errors ioredis raises mid-call are 503s too (api/errors.ts).
 */
import type { Redis } from 'ioredis';
import { ApiError } from './errors.js';

const REDIS_RETRY_AFTER_SECONDS = 5;

function redisUnavailable(what: string, why: string): ApiError {
  return new ApiError(503, 'redis_unavailable', `${what}: Redis is unreachable (${why}); retry`, null, { 'retry-after': String(REDIS_RETRY_AFTER_SECONDS) });
}

export function requireRedis(redis: Pick<Redis, 'status'>, what: string): void {
  if (redis.status !== 'ready') throw redisUnavailable(what, `connection ${redis.status}`);
}
