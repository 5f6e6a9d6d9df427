/**
 * Every API process keeps each experiment's latest allocation snapshot in memory, compiled for the
 * hot path. It refreshes on the Redis pub/sub announcement and, as a fallback for missed messages,
 * on a short poll. Nothing on the request path waits on Redis for snapshots.
 */
import type { Redis } from 'ioredis';
import { compileSnapshot, type PreparedSnapshot } from '../domain/assignment/compile-snapshot.js';
import type { AllocationSnapshot } from '../domain/types.js';
import { SNAPSHOT_CHANNEL, loadAllSnapshots, loadSnapshot } from '../infra/snapshot-store.js';

export class SnapshotCache {
  private readonly byKey = new Map<string, PreparedSnapshot>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly pollMs = 2000,
  ) {}

  async start(): Promise<void> {
    await this.subscriber.subscribe(SNAPSHOT_CHANNEL);
    this.subscriber.on('message', (_channel, message: string) => {
      const sep = message.lastIndexOf(':');
      const key = message.slice(0, sep);
      if (message.slice(sep + 1) === 'deleted') this.byKey.delete(key);
      else void this.refresh(key);
    });
    await this.refreshAll();
    this.timer = setInterval(() => void this.refreshAll().catch(() => {}), this.pollMs);
    this.timer.unref();
  }

  get(experimentKey: string): PreparedSnapshot | undefined {
    return this.byKey.get(experimentKey);
  }

  /** Every snapshot held (for the snapshot version and age gauges). */
  snapshots(): AllocationSnapshot[] {
    return [...this.byKey.values()].map((p) => p.snapshot);
  }

  has(experimentKey: string): boolean {
    return this.byKey.has(experimentKey);
  }

  /**
   * Installs a snapshot if it is newer than the one held (used on create, before pub/sub arrives),
   * or belongs to a different experiment under the same key (a different seed: re-created).
   */
  offer(snapshot: AllocationSnapshot): void {
    const cur = this.byKey.get(snapshot.experimentKey);
    if (!cur || cur.snapshot.version < snapshot.version || cur.snapshot.seed !== snapshot.seed) {
      this.byKey.set(snapshot.experimentKey, compileSnapshot(snapshot));
    }
  }

  forget(experimentKey: string): void {
    this.byKey.delete(experimentKey);
  }

  async refresh(experimentKey: string): Promise<void> {
    const s = await loadSnapshot(this.redis, experimentKey);
    if (s) this.offer(s);
  }

  async refreshAll(): Promise<void> {
    for (const s of await loadAllSnapshots(this.redis)) this.offer(s);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.subscriber.unsubscribe(SNAPSHOT_CHANNEL).catch(() => {});
  }
}
