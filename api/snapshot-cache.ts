/**
 * Every API process keeps each experiment's latest allocation snapshot in memory, compiled for the
 * hot path. It refreshes on the Redis pub/sub announcement and, as a fallback for missed messages,
 * on a short poll. Nothing on the request path waits on Redis for snapshots.
 *
 * A stored snapshot that does not parse (corrupted, or written by an incompatible release) is never
 * installed: the process keeps serving the last good snapshot of that experiment (none after a
 * restart: the experiment answers 404 until a valid one is published), logs the fault once per
 * reason, and reports it in `invalid()` (the `expflow_snapshot_invalid` gauge).
 */
import type { Redis } from 'ioredis';
import { followChannel, type RedisSubscriber } from '../infra/redis-subscriber.js';
import { compileSnapshot, type PreparedSnapshot } from '../domain/assignment/compile-snapshot.js';
import type { AllocationSnapshot } from '../domain/types.js';
import { SNAPSHOT_CHANNEL, readAllSnapshots, readSnapshot, type SnapshotRead } from '../infra/snapshot-store.js';

export class SnapshotCache {
  private readonly byKey = new Map<string, PreparedSnapshot>();
  /** Experiments whose stored snapshot is invalid right now, with the reason and how many reads found it so. */
  private readonly invalidByKey = new Map<string, { reason: string; reads: number }>();
  private stopFollowing: (() => Promise<void>) | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Pick<RedisSubscriber, 'subscribe'>,
    private readonly pollMs = 2000,
  ) {}

  async start(): Promise<void> {
    this.stopFollowing = await followChannel(this.subscriber, SNAPSHOT_CHANNEL, {
      onMessage: (message) => {
        const sep = message.lastIndexOf(':');
        const key = message.slice(0, sep);
        if (message.slice(sep + 1) === 'deleted') this.forget(key);
        // A read Redis fails (gone since the announcement) is retried by the poll.
        else void this.refresh(key).catch(() => {});
      },
      poll: () => this.refreshAll(),
      pollMs: this.pollMs,
    });
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
    this.invalidByKey.delete(experimentKey);
  }

  /** Experiments whose stored snapshot is invalid (the last good one, if any, is still served). */
  invalid(): Array<{ experimentKey: string; reason: string; reads: number }> {
    return [...this.invalidByKey].map(([experimentKey, v]) => ({ experimentKey, ...v }));
  }

  async refresh(experimentKey: string): Promise<void> {
    const read = await readSnapshot(this.redis, experimentKey);
    if (read) this.take(read);
  }

  async refreshAll(): Promise<void> {
    for (const read of await readAllSnapshots(this.redis)) this.take(read);
  }

  private take(read: SnapshotRead): void {
    if (read.ok) {
      this.invalidByKey.delete(read.snapshot.experimentKey);
      this.offer(read.snapshot);
      return;
    }
    const seen = this.invalidByKey.get(read.experimentKey);
    if (seen?.reason !== read.reason) {
      const serving = this.byKey.get(read.experimentKey)?.snapshot.version;
      console.error(`[api] stored snapshot of '${read.experimentKey}' is invalid (${read.reason}); ${serving === undefined ? 'not serving it' : `still serving version ${serving}`}`);
    }
    this.invalidByKey.set(read.experimentKey, { reason: read.reason, reads: (seen?.reason === read.reason ? seen.reads : 0) + 1 });
  }

  async stop(): Promise<void> {
    await this.stopFollowing?.();
  }
}
