/**
 * Every API process keeps the current context signals in memory, refreshed on the Redis
 * announcement and on a short poll (like snapshots), so /assign derives features without a
 * network call. Expiry is re-checked on every read.
 */
import type { Redis } from 'ioredis';
import { followChannel, type RedisSubscriber } from '../infra/redis-subscriber.js';
import { currentSignals, prepareSignals, type ContextSignal, type PreparedSignal } from '../domain/context/signals.js';
import { CONTEXT_CHANNEL, loadCurrentSignals } from '../infra/context-store.js';

export class ContextCache {
  private signals: ContextSignal[] = [];
  private preparedSignals: PreparedSignal[] = [];
  private stopFollowing: (() => Promise<void>) | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Pick<RedisSubscriber, 'subscribe'>,
    private readonly pollMs = 2000,
    private readonly now: () => number = Date.now,
  ) {}

  async start(): Promise<void> {
    this.stopFollowing = await followChannel(this.subscriber, CONTEXT_CHANNEL, {
      onMessage: () => void this.refresh().catch(() => {}),
      poll: () => this.refresh(),
      pollMs: this.pollMs,
    });
  }

  /** The signals current at the last refresh (callers re-check expiry against their own `now`). */
  current(): readonly ContextSignal[] {
    return this.signals;
  }

  /** The same, with times parsed once, for the hot path. */
  prepared(): readonly PreparedSignal[] {
    return this.preparedSignals;
  }

  async refresh(): Promise<void> {
    const signals = currentSignals(await loadCurrentSignals(this.redis), this.now());
    this.signals = signals;
    this.preparedSignals = prepareSignals(signals);
  }

  async stop(): Promise<void> {
    await this.stopFollowing?.();
  }
}
