/**
 * Buffers exposures (assignments, with propensity) and sends them to the "events" queue in batches,
 * so logging costs the hot path an array push. A failed flush keeps the batch for the next one; on
 * shutdown the buffer is drained. Ingest keeps the first exposure per unit, so resending is harmless.
 */
import type { Queue } from 'bullmq';
import type { EventsJob, ExposureRecord } from '../infra/queues.js';

export class ExposureLog {
  private buffer: ExposureRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly queue: Queue<EventsJob>,
    private readonly maxBatch = 500,
    private readonly intervalMs = 100,
    /** While Redis is unreachable the buffer grows to this many exposures, then drops the oldest. */
    private readonly maxBuffered = 500_000,
  ) {}

  /** Exposures dropped because the buffer overflowed while the queue was unreachable. */
  dropped = 0;
  /** (experiment, unit) → when it was last logged by this process; insertion-ordered for eviction. */
  private readonly recent = new Map<string, number>();
  private static readonly RECENT_MAX = 200_000;
  private static readonly RECENT_TTL_MS = 10 * 60_000;

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  /** Logs a unit's first exposure. */
  push(record: ExposureRecord): void {
    this.buffer.push(record);
    if (this.buffer.length >= this.maxBatch) void this.flush();
  }

  /**
   * Logs a returning unit's exposure unless this process did so in the last ten minutes: it
   * restores an exposure lost in a crash without sending one record per request. First exposures
   * skip this bookkeeping (`push`), which keeps the new-unit path as cheap as before.
   */
  pushReturning(record: ExposureRecord, nowMs = Date.now()): void {
    const key = `${record.experiment}\u001f${record.unitId}`;
    const seen = this.recent.get(key);
    if (seen !== undefined && nowMs - seen < ExposureLog.RECENT_TTL_MS) return;
    this.recent.delete(key);
    this.recent.set(key, nowMs);
    if (this.recent.size > ExposureLog.RECENT_MAX) this.recent.delete(this.recent.keys().next().value!);
    this.buffer.push(record);
    if (this.buffer.length >= this.maxBatch) void this.flush();
  }

  async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (!this.buffer.length) return;
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = (async () => {
      try {
        const jobs = [];
        for (let i = 0; i < batch.length; i += this.maxBatch) {
          jobs.push({ name: 'exposures', data: { kind: 'exposures' as const, items: batch.slice(i, i + this.maxBatch) } });
        }
        await this.queue.addBulk(jobs);
      } catch (e) {
        this.buffer = batch.concat(this.buffer);
        const excess = this.buffer.length - this.maxBuffered;
        if (excess > 0) {
          this.buffer.splice(0, excess);
          this.dropped += excess;
        }
        console.error(`[api] exposure flush failed; will retry (${this.buffer.length} buffered, ${this.dropped} dropped)`, (e as Error).message);
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }

  /** Stops the timer and drains the buffer (bounded attempts, so shutdown cannot hang forever). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (let attempt = 0; attempt < 20 && (this.buffer.length || this.flushing); attempt++) {
      await this.flush();
      if (this.buffer.length) await new Promise((r) => setTimeout(r, 100));
    }
  }
}
