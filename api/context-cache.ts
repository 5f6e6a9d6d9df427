/**
 * Every API process keeps the current context signals in memory, refreshed on the Redis
 * announcement and on a short poll (like snapshots), so /assign derives features without a
 * network call. Expiry is re-checked on every read.
 */
import type { Redis } from 'ioredis';
import { currentSignals, prepareSignals, type ContextSignal, type PreparedSignal } from '../domain/context/signals.js';
import { CONTEXT_CHANNEL, loadCurrentSignals } from '../infra/context-store.js';

export class ContextCache {
  private signals: ContextSignal[] = [];
  private preparedSignals: PreparedSignal[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly pollMs = 2000,
    private readonly now: () => number = Date.now,
  ) {}

  async start(): Promise<void> {
    await this.subscriber.subscribe(CONTEXT_CHANNEL);
    this.subscriber.on('message', (channel: string) => {
      if (channel === CONTEXT_CHANNEL) void this.refresh().catch(() => {});
    });
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch(() => {}), this.pollMs);
    this.timer.unref();
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
    if (this.timer) clearInterval(this.timer);
    await this.subscriber.unsubscribe(CONTEXT_CHANNEL).catch(() => {});
  }
}
