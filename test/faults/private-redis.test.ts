/**
 * The fault tests' private redis-server goes away with down(), whatever was done to it before: a
 * second up() while it ran (redis-down's teardown) used to replace its handle with a server that
 * could not bind the port, and the first one outlived every `npm test`.
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { PrivateRedis } from '../helpers/private-redis.js';
import { waitFor } from '../helpers/services.js';

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

describe('private redis-server', () => {
  it('down() stops it after a second up(), a freeze and a thaw', async () => {
    const redis = await PrivateRedis.start();
    try {
      expect(await listening(redis.port)).toBe(true);
      redis.freeze();
      redis.thaw();
      await redis.up();
      expect(await listening(redis.port)).toBe(true);
    } finally {
      await redis.down();
    }
    await waitFor(async () => !(await listening(redis.port)), { what: 'port closed', timeoutMs: 10_000 });
  });

  it('down() stops a frozen one, and up() starts it again on the same port', async () => {
    const redis = await PrivateRedis.start();
    try {
      redis.freeze();
      await redis.down();
      expect(await listening(redis.port)).toBe(false);
      await redis.up();
      expect(await listening(redis.port)).toBe(true);
    } finally {
      await redis.down();
    }
    expect(await listening(redis.port)).toBe(false);
  });
});
