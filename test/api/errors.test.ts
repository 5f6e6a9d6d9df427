/**
 * The error envelope maps a Redis outage met mid-call (ioredis giving up on a command) to 503 with
 * Retry-After: the dependency is away, the request may be retried. Before, it was a 500.
 */
import type { ServerResponse } from 'node:http';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { writeError } from '../../api/errors.js';
import { freePort } from '../helpers/private-redis.js';

function capture() {
  const out = { status: 0, headers: {} as Record<string, string>, body: '' };
  const res = {
    writeHead(status: number, headers: Record<string, string>) {
      out.status = status;
      out.headers = headers;
      return this;
    },
    end(body: string) {
      out.body = body;
    },
  } as unknown as ServerResponse;
  return { res, out };
}

/** The error a real ioredis client raises for a command while its server is unreachable. */
async function redisOutageError(opts: { offlineQueue: boolean }): Promise<unknown> {
  const redis = new Redis(`redis://127.0.0.1:${await freePort()}`, { maxRetriesPerRequest: 1, enableOfflineQueue: opts.offlineQueue, retryStrategy: () => 20 });
  redis.on('error', () => {});
  try {
    await redis.get('k');
    throw new Error('the command succeeded against a closed port');
  } catch (e) {
    return e;
  } finally {
    redis.disconnect();
  }
}

describe('writeError', () => {
  it.each([true, false])('answers 503 with Retry-After for a Redis command that failed on the outage (offline queue %s)', async (offlineQueue) => {
    const { res, out } = capture();
    writeError(res, await redisOutageError({ offlineQueue }));
    expect(out.status).toBe(503);
    expect(Number(out.headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.parse(out.body).error.code).toBe('redis_unavailable');
  });

  it('still answers 500 without details for an unexpected error', () => {
    const { res, out } = capture();
    const log = console.error;
    console.error = () => {};
    try {
      writeError(res, new TypeError('x is undefined'));
    } finally {
      console.error = log;
    }
    expect(out.status).toBe(500);
    expect(out.body).not.toContain('x is undefined');
  });
});
