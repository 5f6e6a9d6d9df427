/**
 * Forgetting a unit (DELETE /units/:unitId): every row and Redis entry stored under its pseudonym
 * (and under the previous key's pseudonym during a rotation, and the raw id of rows written before
 * pseudonymisation existed): events, per-unit event aggregates, exposures, segment memberships,
 * shadow-model predictions, dead letters, sticky records, and exposures and events still queued for
 * ingestion. Exposures still buffered in any API process's memory (or spool) are first handed to the
 * queue by every process (api/exposure-drain-bus.ts), so the queue scrub sees them; when one process
 * cannot, nothing is deleted and the caller is asked to retry. The audit entry records that an
 * erasure happened and its counts, not who it was for.
 */
import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { inTransaction } from '../infra/pg.js';
import type { PrismaClient } from '../infra/prisma.js';
import type { EventsJob, Queues } from '../infra/queues.js';
import { ApiError } from './errors.js';
import type { DrainOutcome } from './exposure-drain-bus.js';
import { requireRedis } from './redis-guard.js';
import type { UnitEdge } from './unit-edge.js';

export interface UnitsServiceDeps {
  prisma: PrismaClient;
  pool: Pool;
  redis: Redis;
  queues: Queues;
  /** The edge's pseudonymisers (UNIT_ID_KEY and, during a rotation, UNIT_ID_KEY_PREVIOUS): a unit is erased under both. */
  edge: Pick<UnitEdge, 'pseudonymise' | 'previousPseudonymise'>;
  /** Has every API process send its buffered exposures to the queue first, so the queue scan sees them. */
  drainExposures: () => Promise<DrainOutcome>;
  /** How long to wait for an ingest job that holds the unit and is being written right now. */
  activeJobWaitMs?: number;
}

interface RowCounts {
  events: number;
  aggregates: number;
  exposures: number;
  memberships: number;
  predictions: number;
  deadLetters: number;
}

export interface UnitDeletion extends RowCounts {
  requestId: string;
  stickyRecords: number;
  queuedItems: number;
}

const NO_ROWS: RowCounts = { events: 0, aggregates: 0, exposures: 0, memberships: 0, predictions: 0, deadLetters: 0 };

function addCounts(a: RowCounts, b: RowCounts): RowCounts {
  return {
    events: a.events + b.events,
    aggregates: a.aggregates + b.aggregates,
    exposures: a.exposures + b.exposures,
    memberships: a.memberships + b.memberships,
    predictions: a.predictions + b.predictions,
    deadLetters: a.deadLetters + b.deadLetters,
  };
}

const QUEUE_STATES = ['waiting', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed'] as const;

export class UnitsService {
  constructor(private readonly d: UnitsServiceDeps) {}

  /** Every id the unit may be stored under. */
  storedIds(unitId: string): string[] {
    const { pseudonymise, previousPseudonymise } = this.d.edge;
    return [...new Set([pseudonymise(unitId), ...(previousPseudonymise ? [previousPseudonymise(unitId)] : []), unitId])];
  }

  async delete(unitId: string, actor: string): Promise<UnitDeletion> {
    const ids = this.storedIds(unitId);
    // Queue and sticky records live in Redis: an erasure either reaches them or does not start.
    requireRedis(this.d.redis, 'unit');
    const drained = await this.d.drainExposures();
    if (!drained.ok) throw new ApiError(503, 'erasure_unavailable', `unit: ${drained.problem}; nothing was deleted, retry`, null, { 'retry-after': '5' });
    // Queued first, so an ingest job cannot write the unit back after its rows are gone.
    const queuedItems = await this.scrubQueue(new Set(ids));
    const stickyRecords = await this.deleteSticky(ids);
    const requestId = randomUUID();
    const first = await this.deleteRows(ids);
    // A job a worker took just before the scan still holds its own copy of the items: once the jobs
    // active now have finished, delete again (normally nothing).
    const inFlight = await this.activeJobIds();
    let second = NO_ROWS;
    if (inFlight.size) {
      await this.waitUntilFinished(inFlight);
      second = await this.deleteRows(ids);
    }
    const counts = { ...addCounts(first, second), stickyRecords, queuedItems };
    await this.d.pool.query(`INSERT INTO "AuditLog" (actor, action, target, reason, data) VALUES ($1, 'unit.delete', 'units', 'erasure request', $2)`, [
      actor,
      JSON.stringify({ requestId, ...counts }),
    ]);
    return { requestId, ...counts };
  }

  private async deleteRows(ids: string[]): Promise<RowCounts> {
    return inTransaction(this.d.pool, async (client) => {
      const del = async (sql: string) => (await client.query(sql, [ids])).rowCount ?? 0;
      // The report rollups of these units' experiments include them: drop them (rebuilt at the
      // experiment's next refresh from what remains).
      await client.query(`DELETE FROM "ReportRollup" WHERE "experimentId" IN (SELECT DISTINCT "experimentId" FROM "Assignment" WHERE "unitId" = ANY($1::text[]))`, [ids]);
      const counts: RowCounts = {
        events: await del(`DELETE FROM "Event" WHERE "unitId" = ANY($1::text[])`),
        aggregates: await del(`DELETE FROM "UnitEventAggregate" WHERE "unitId" = ANY($1::text[])`),
        exposures: await del(`DELETE FROM "Assignment" WHERE "unitId" = ANY($1::text[])`),
        memberships: await del(`DELETE FROM "SegmentMembership" WHERE "unitId" = ANY($1::text[])`),
        predictions: await del(`DELETE FROM "Prediction" WHERE "unitId" = ANY($1::text[])`),
        // One queue item per letter, as JSON text (which may hold what jsonb cannot): match the
        // serialised field exactly rather than parse every letter.
        deadLetters: await del(
          `DELETE FROM "DeadLetter" d WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) AS u(id) WHERE strpos(d.payload, '"unitId":' || to_json(u.id)::text) > 0)`,
        ),
      };
      return counts;
    });
  }

  private async activeJobIds(): Promise<Set<string>> {
    const active = (await this.d.queues.events.getJobs(['active'])) as Array<Job<EventsJob> | undefined>;
    return new Set(active.filter((j): j is Job<EventsJob> => !!j?.id).map((j) => j.id!));
  }

  private async waitUntilFinished(ids: Set<string>): Promise<void> {
    const deadline = Date.now() + (this.d.activeJobWaitMs ?? 30_000);
    while (Date.now() < deadline) {
      const still = await this.activeJobIds();
      if (![...ids].some((id) => still.has(id))) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** HDEL the unit from every experiment's sticky hash. */
  private async deleteSticky(ids: string[]): Promise<number> {
    let removed = 0;
    let cursor = '0';
    do {
      const [next, keys] = await this.d.redis.scan(cursor, 'MATCH', 'expflow:sticky:*', 'COUNT', 500);
      cursor = next;
      for (const k of keys) removed += await this.d.redis.hdel(k, ...ids);
    } while (cursor !== '0');
    return removed;
  }

  /**
   * Removes the unit's items from ingest jobs not yet written (and from finished jobs BullMQ keeps);
   * a job being written right now is waited for, then scrubbed like the others.
   */
  private async scrubQueue(ids: Set<string>): Promise<number> {
    const queue = this.d.queues.events;
    const deadline = Date.now() + (this.d.activeJobWaitMs ?? 30_000);
    let removed = 0;
    for (;;) {
      for (const state of QUEUE_STATES) {
        for (let start = 0; ; start += 500) {
          const jobs = (await queue.getJobs([state], start, start + 499, true)) as Array<Job<EventsJob> | undefined>;
          for (const job of jobs) if (job) removed += await scrubJob(job, ids);
          if (jobs.length < 500) break;
        }
      }
      const active = (await queue.getJobs(['active'])) as Array<Job<EventsJob> | undefined>;
      if (!active.some((j) => j && holdsUnit(j.data, ids)) || Date.now() > deadline) return removed;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function holdsUnit(data: EventsJob | undefined, ids: Set<string>): boolean {
  return !!data && Array.isArray(data.items) && (data.items as Array<{ unitId?: string }>).some((i) => ids.has(i.unitId ?? ''));
}

async function scrubJob(job: Job<EventsJob>, ids: Set<string>): Promise<number> {
  if (!holdsUnit(job.data, ids)) return 0;
  const items = (job.data.items as Array<{ unitId: string }>).filter((i) => !ids.has(i.unitId));
  const removed = job.data.items.length - items.length;
  try {
    if (items.length) await job.updateData({ ...job.data, items } as EventsJob);
    else await job.remove();
  } catch (e) {
    // Picked up by a worker between the scan and the update: the next scan waits for it.
    if (!/locked|not exist|Missing key/i.test((e as Error).message)) throw e;
    return 0;
  }
  return removed;
}
