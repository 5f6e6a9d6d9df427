/**
 * The API process's one pub/sub connection serves every listener: messages reach only their
 * channel's handlers, a throwing handler does not keep a message from the others, the last
 * unsubscribe leaves the channel, and after the Redis server restarts every channel is heard again.
 * On a redis-server of the test's own, which it kills and starts again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../infra/redis.js';
import { RedisSubscriber } from '../../infra/redis-subscriber.js';
import { PrivateRedis } from '../helpers/private-redis.js';
import { waitFor } from '../helpers/services.js';

let server: PrivateRedis;
let publisher: ReturnType<typeof createRedis>;
let subscriber: RedisSubscriber;
beforeAll(async () => {
  server = await PrivateRedis.start();
  publisher = createRedis(server.url);
  subscriber = RedisSubscriber.connect(server.url);
});
afterAll(async () => {
  subscriber?.close();
  publisher?.disconnect();
  await server?.down();
});

const subscribers = async (channel: string) => Number(((await publisher.pubsub('NUMSUB', channel)) as [string, number])[1]);

describe('RedisSubscriber', () => {
  it('dispatches by channel on one connection, past a throwing handler, and leaves a channel with its last handler', async () => {
    const got: Record<string, string[]> = { a1: [], a2: [], b: [] };
    const offA1 = await subscriber.subscribe('t:a', (m) => {
      got.a1?.push(m);
      throw new Error('listener fault');
    });
    const offA2 = await subscriber.subscribe('t:a', (m) => void got.a2?.push(m));
    const offB = await subscriber.subscribe('t:b', (m) => void got.b?.push(m));
    // One connection holds both channels.
    const subscribedClients = ((await publisher.client('LIST')) as string).split('\n').flatMap((l) => / sub=(\d+) /.exec(l)?.[1] ?? []).filter((n) => n !== '0');
    expect(subscribedClients).toEqual(['2']);
    expect(await subscribers('t:a')).toBe(1);

    await publisher.publish('t:a', 'one');
    await publisher.publish('t:b', 'two');
    await waitFor(async () => got.a2?.length === 1 && got.b?.length === 1, { what: 'both channels heard' });
    expect(got).toEqual({ a1: ['one'], a2: ['one'], b: ['two'] });

    await offA1();
    expect(await subscribers('t:a')).toBe(1);
    await publisher.publish('t:a', 'three');
    await waitFor(async () => got.a2?.length === 2, { what: 'the remaining handler heard' });
    expect(got.a1).toEqual(['one']);

    await offA2();
    expect(await subscribers('t:a')).toBe(0);
    expect(await subscribers('t:b')).toBe(1);
    await offB();
    expect(await subscribers('t:b')).toBe(0);
  });

  it('hears every channel again after the server restarts', { timeout: 120_000 }, async () => {
    const got: Record<string, string[]> = { x: [], y: [] };
    const offX = await subscriber.subscribe('t:x', (m) => void got.x?.push(m));
    const offY = await subscriber.subscribe('t:y', (m) => void got.y?.push(m));
    await server.down();
    await server.up();
    // A message published before the connection is back is lost (listeners poll for that): publish until heard.
    await waitFor(
      async () => {
        await publisher.publish('t:x', 'after').catch(() => 0);
        await publisher.publish('t:y', 'after').catch(() => 0);
        return got.x?.includes('after') && got.y?.includes('after');
      },
      { what: 'both channels heard after the restart', timeoutMs: 60_000 },
    );
    expect(await subscribers('t:x')).toBe(1);
    await offX();
    await offY();
    expect(await subscribers('t:x')).toBe(0);
  });
});
