/**
 * A process's one Redis pub/sub connection. A connection in subscriber mode can run nothing else,
 * so every in-process listener (snapshot cache, context cache, exposure drain bus) registers a
 * handler for its channel here instead of opening a connection of its own, and messages are
 * dispatched by channel. After a reconnect ioredis subscribes again to every channel it held
 * (`autoResubscribe`, on by default and set here so it stays on); a message published while the
 * connection was away is lost, which is why each listener also polls.
 */
import type { Redis } from 'ioredis';
import { createRedis } from './redis.js';

type Handler = (message: string) => void;

export class RedisSubscriber {
  private readonly handlers = new Map<string, Set<Handler>>();

  constructor(private readonly conn: Redis) {
    conn.options.autoResubscribe = true;
    conn.on('message', (channel: string, message: string) => this.dispatch(channel, message));
  }

  static connect(url: string): RedisSubscriber {
    return new RedisSubscriber(createRedis(url));
  }

  /** Calls `handler` with every message on `channel` until the returned `unsubscribe` is called. */
  async subscribe(channel: string, handler: Handler): Promise<() => Promise<void>> {
    let handlers = this.handlers.get(channel);
    if (!handlers) this.handlers.set(channel, (handlers = new Set()));
    handlers.add(handler);
    const unsubscribe = async () => {
      handlers.delete(handler);
      if (handlers.size || this.handlers.get(channel) !== handlers) return;
      this.handlers.delete(channel);
      await this.conn.unsubscribe(channel).catch(() => {});
    };
    try {
      await this.conn.subscribe(channel);
    } catch (e) {
      await unsubscribe();
      throw e;
    }
    return unsubscribe;
  }

  close(): void {
    this.handlers.clear();
    this.conn.disconnect();
  }

  /** One listener's fault must not keep the message from the others on the channel. */
  private dispatch(channel: string, message: string): void {
    for (const handler of this.handlers.get(channel) ?? []) {
      try {
        handler(message);
      } catch (e) {
        console.error(`[redis] handler for ${channel} failed: ${(e as Error).message}`);
      }
    }
  }
}

/**
 * Keeps an in-memory copy of what `channel` announces current: `onMessage` for each announcement,
 * and `poll` now and every `pollMs` after, for announcements lost while the connection was away.
 * Resolves once the first poll is done; the returned function stops both.
 */
export async function followChannel(
  subscriber: Pick<RedisSubscriber, 'subscribe'>,
  channel: string,
  opts: { onMessage: (message: string) => void; poll: () => Promise<void>; pollMs: number },
): Promise<() => Promise<void>> {
  const unsubscribe = await subscriber.subscribe(channel, opts.onMessage);
  await opts.poll();
  const timer = setInterval(() => void opts.poll().catch(() => {}), opts.pollMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await unsubscribe();
  };
}
