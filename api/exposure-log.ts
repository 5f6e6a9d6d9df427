/**
 * Buffers exposures (assignments, with propensity) and sends them to the "events" queue in batches,
 * so logging costs the hot path an array push. Nothing is dropped: a batch Redis does not take (it
 * is unreachable, or does not answer within `addTimeoutMs`) goes to the local spool
 * (exposure-spool.ts), which is replayed as soon as a send succeeds again, and at start for files a
 * previous process left. `stop` (SIGTERM) sends or spools what is buffered. Ingest keeps the first
 * exposure per unit, so a record sent twice (a send that timed out but landed) is harmless.
 */
import type { Queue } from 'bullmq';
import type { EventsJob, ExposureRecord } from '../infra/queues.js';
import { ExposureSpool } from './exposure-spool.js';

export interface ExposureLogOptions {
  spoolDir: string;
  maxBatch?: number;
  intervalMs?: number;
  /** A send not acknowledged within this long is spooled instead of waited for. */
  addTimeoutMs?: number;
}

export class ExposureLog {
  private buffer: ExposureRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private readonly spool: ExposureSpool;
  private readonly maxBatch: number;
  private readonly intervalMs: number;
  private readonly addTimeoutMs: number;

  /** Exposures written to the spool since start (for tests and operators). */
  spooled = 0;
  /** Exposures replayed from the spool since start. */
  replayed = 0;
  private nextReplayAt = 0;

  constructor(
    private readonly queue: Queue<EventsJob>,
    opts: ExposureLogOptions,
  ) {
    this.spool = new ExposureSpool(opts.spoolDir);
    this.maxBatch = opts.maxBatch ?? 500;
    this.intervalMs = opts.intervalMs ?? 100;
    this.addTimeoutMs = opts.addTimeoutMs ?? 2000;
  }

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

  /** Sends the buffer (spooling it if Redis does not take it), then replays the spool if Redis did. */
  async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    try {
      this.spool.heartbeat();
    } catch (e) {
      console.error(`[api] exposure spool lease not renewed: ${(e as Error).message}`);
    }
    if (!this.buffer.length && !this.spool.pending) return;
    const batch = this.buffer;
    this.buffer = [];
    // Cleared in `.finally`, which always runs after this assignment: a run that never awaits (an
    // empty buffer and a replay not yet due) would otherwise clear `flushing` before it is set,
    // leaving a settled promise there and every later flush a no-op.
    this.flushing = (async () => {
      {
        let ok = true;
        if (batch.length) {
          try {
            await this.send(batch);
          } catch (e) {
            ok = false;
            try {
              this.spool.append(batch);
              this.spooled += batch.length;
              console.error(`[api] exposure send failed; ${batch.length} spooled to disk (${this.spooled} so far): ${(e as Error).message}`);
            } catch (disk) {
              // Neither Redis nor the disk took them: they stay in memory for the next flush. A
              // rejection here would have lost them, and ended the process (nothing awaits a tick).
              this.buffer = batch.concat(this.buffer);
              console.error(`[api] exposure send failed (${(e as Error).message}) and the spool could not be written (${(disk as Error).message}); ${this.buffer.length} kept in memory`);
            }
          }
        }
        if (ok && this.spool.pending && Date.now() >= this.nextReplayAt) {
          const before = this.spool.pending;
          try {
            this.replayed += await this.spool.replay((records) => this.send(records), this.maxBatch);
          } catch (e) {
            console.error(`[api] exposure spool could not be read; will retry: ${(e as Error).message}`);
          }
          // A replay that failed waits a second before the next try, rather than one per tick.
          if (before && this.spool.pending) this.nextReplayAt = Date.now() + 1000;
        }
      }
    })().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async send(records: ExposureRecord[]): Promise<void> {
    const jobs = [];
    for (let i = 0; i < records.length; i += this.maxBatch) {
      jobs.push({ name: 'exposures', data: { kind: 'exposures' as const, items: records.slice(i, i + this.maxBatch) } });
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.queue.addBulk(jobs),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer from Redis within ${this.addTimeoutMs} ms`)), this.addTimeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Sends everything buffered now and replays the spool at once (an erasure needs the unit's
   * exposures where it can scrub them). Resolves true when some are still only on this disk
   * (Redis did not take them).
   */
  async drain(): Promise<boolean> {
    if (this.flushing) await this.flushing;
    this.nextReplayAt = 0;
    await this.flush();
    return this.spool.pending;
  }

  /** Stops the timer, then sends or spools everything buffered: nothing is left only in memory. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.flushing) await this.flushing;
    if (this.buffer.length) await this.flush();
    this.spool.close();
  }
}
