/**
 * Writes batches from the "events" queue into Postgres, a multi-row statement or two per batch
 * (named, so each connection parses and plans them once: planning the events statement per batch
 * cost Postgres as much CPU as the inserts themselves).
 *
 * - Idempotent: events dedupe on (eventId, scope) in EventDedupe within the dedupe window (a retried
 *   job or a resent batch writes nothing twice, with or without a client timestamp), and one eventId
 *   counts once per experiment whether sent unrestricted, restricted, or both; exposures on
 *   (experiment, unit), the first exposure winning, which also makes assignment sticky in the
 *   database.
 * - No deadlocks: rows are de-duplicated and sorted by their unique key before the statement, so
 *   every concurrent batch takes its row locks in the same order.
 * - One poison row never costs its batch: when Postgres refuses a batch for its data, the batch is
 *   split in halves until the refused rows stand alone; those go to DeadLetter with the reason and
 *   every other row is written. Errors that are not about the data (connection, lock timeouts)
 *   are thrown, so the queue retries the job with backoff.
 */
import type { Pool } from 'pg';
import { inTransaction } from './pg.js';
import { addDays, dayOf, retentionStart, type Day } from '../domain/storage/partition-plan.js';
import { insertDeadLetters, type DeadLetterKind } from './dead-letters.js';
import { createEventPartitions, listEventPartitions } from './event-partitions.js';
import type { ExposureRecord, OutcomeEvent } from './queues.js';

const DEFAULT_DEDUPE_WINDOW_SECONDS = 7 * 86_400;
const DEFAULT_RETENTION_DAYS = 90;
/** How far ahead of the writer's clock an event's day may lie (client clocks run fast). */
export const MAX_DAYS_AHEAD = 1;

export interface WriteResult {
  /** Rows inserted. */
  written: number;
  /** Items already stored (within the dedupe window, or an exposure of a known unit). */
  duplicates: number;
  /** Items refused one by one and kept in DeadLetter. */
  deadLettered: number;
  /** Exposures only: the rows inserted per experiment key and variant (what the metrics count). */
  exposuresWritten?: Array<{ experiment: string; variant: string; n: number }>;
}

/** SQLSTATE classes that blame the rows, not the moment: bisect instead of retrying. */
const DATA_ERROR = /^(22|23|42|54|P0)/;

function isDataError(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' && DATA_ERROR.test(code);
}

function isMissingPartition(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown };
  return err?.code === '23514' && typeof err.message === 'string' && err.message.includes('no partition');
}

/**
 * Runs `insert` on the rows, splitting a batch Postgres refuses for its data until the refused rows
 * stand alone; each of those goes to `reject` with Postgres's reason.
 */
async function insertIsolatingPoison<T>(rows: T[], insert: (rows: T[]) => Promise<number>, reject: (rows: T[], reason: string) => Promise<void>): Promise<{ written: number; rejected: number }> {
  if (!rows.length) return { written: 0, rejected: 0 };
  try {
    return { written: await insert(rows), rejected: 0 };
  } catch (e) {
    if (!isDataError(e)) throw e;
    if (rows.length === 1) {
      await reject(rows, (e as Error).message);
      return { written: 0, rejected: 1 };
    }
    const mid = rows.length >> 1;
    const a = await insertIsolatingPoison(rows.slice(0, mid), insert, reject);
    const b = await insertIsolatingPoison(rows.slice(mid), insert, reject);
    return { written: a.written + b.written, rejected: a.rejected + b.rejected };
  }
}

/** First item per key, sorted by key: the lock order every concurrent batch shares. */
function uniqueSorted<T>(items: T[], key: (t: T) => string): T[] {
  const first = new Map<string, T>();
  for (const i of items) {
    const k = key(i);
    if (!first.has(k)) first.set(k, i);
  }
  return [...first.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((e) => e[1]);
}

async function experimentIds(pool: Pool, keys: string[]): Promise<Map<string, string>> {
  if (!keys.length) return new Map();
  const res = await pool.query<{ id: string; key: string }>(`SELECT id, key FROM "Experiment" WHERE key = ANY($1::text[])`, [[...new Set(keys)]]);
  return new Map(res.rows.map((r) => [r.key, r.id]));
}

/** Days known to have a partition, per pool: partitions are checked once, then created on demand. */
const knownPartitions = new WeakMap<Pool, Set<Day>>();

async function ensurePartitions(pool: Pool, days: Day[], refresh = false): Promise<void> {
  let known = knownPartitions.get(pool);
  if (!known || refresh) {
    known = new Set(await listEventPartitions(pool));
    knownPartitions.set(pool, known);
  }
  const missing = days.filter((d) => !known.has(d));
  if (!missing.length) return;
  await createEventPartitions(pool, missing);
  for (const d of missing) known.add(d);
}

interface EventRow {
  item: OutcomeEvent;
  scope: string;
  experimentId: string | null;
}

/**
 * Writes one batch in one transaction; returns the Event rows inserted.
 *
 * One eventId counts once per experiment, whether it arrives unrestricted (scope '') or restricted
 * to an experiment (scope = its id), in any order:
 * 1. Every eventId first claims its unrestricted row (eventId, '') in EventDedupe, in eventId order.
 *    That row is the eventId's lock: concurrent batches holding the same eventId queue here, so
 *    each sees the other's claims, and the shared order rules out deadlocks.
 * 2. An unrestricted event counts when that claim is new (or past the window); a restricted copy
 *    of an eventId already claimed unrestricted is a duplicate (it already counts there).
 * 3. A restricted copy whose eventId has no unrestricted claim gives the lock row back and claims
 *    (eventId, experiment) instead, as before.
 * 4. An unrestricted event written after restricted copies carries those experiments in
 *    `excludedExperiments`, and the aggregates skip it there (eventCountsFor below).
 */
async function insertEventRows(pool: Pool, rows: EventRow[], dedupeWindowSeconds: number): Promise<number> {
  const unrestricted = new Set(rows.filter((r) => r.scope === '').map((r) => r.item.eventId));
  // Within a batch the unrestricted form wins: its restricted copies are duplicates.
  const batch = rows.filter((r) => r.scope === '' || !unrestricted.has(r.item.eventId));
  const eventIds = [...new Set(batch.map((r) => r.item.eventId))].sort();
  return inTransaction(pool, async (client) => {
    // Named statements: parsed and planned once per connection, not once per batch.
    const claimed = await client.query<{ eventId: string }>({
      name: 'expflow-claim-events',
      text: `INSERT INTO "EventDedupe" ("eventId", scope, "receivedAt")
       SELECT id, '', now() AT TIME ZONE 'UTC' FROM unnest($1::text[]) WITH ORDINALITY AS h(id, ord) ORDER BY ord
       ON CONFLICT ("eventId", scope) DO UPDATE SET "receivedAt" = EXCLUDED."receivedAt"
         WHERE "EventDedupe"."receivedAt" < EXCLUDED."receivedAt" - make_interval(secs => $2)
       RETURNING "eventId"`,
      values: [eventIds, dedupeWindowSeconds],
    });
    // Claims not returned were already held (within the window): every form of that eventId is a duplicate.
    const free = new Set(claimed.rows.map((r) => r.eventId));
    const rest = batch.filter((r) => free.has(r.item.eventId));
    const release = [...free].filter((id) => !unrestricted.has(id));
    const res = await client.query({
      name: 'expflow-insert-events',
      text: `WITH released AS (
         DELETE FROM "EventDedupe" WHERE scope = '' AND "eventId" = ANY($11::text[])
       ),
       input AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::uuid[], $7::jsonb[], $8::jsonb[], $9::timestamptz[])
                  WITH ORDINALITY AS e(event_id, scope, unit_id, name, value, exp_id, properties, context, ts, ord)
       ),
       restricted AS (
         INSERT INTO "EventDedupe" ("eventId", scope, "receivedAt")
         SELECT event_id, scope, now() AT TIME ZONE 'UTC' FROM input WHERE scope <> '' ORDER BY ord
         ON CONFLICT ("eventId", scope) DO UPDATE SET "receivedAt" = EXCLUDED."receivedAt"
           WHERE "EventDedupe"."receivedAt" < EXCLUDED."receivedAt" - make_interval(secs => $10)
         RETURNING "eventId", scope
       ),
       prior AS (
         SELECT d."eventId", array_agg(d.scope::uuid ORDER BY d.scope) AS excluded FROM "EventDedupe" d
         WHERE d."eventId" = ANY($12::text[]) AND d.scope <> ''
           AND d."receivedAt" >= (now() AT TIME ZONE 'UTC') - make_interval(secs => $10)
         GROUP BY d."eventId"
       )
       INSERT INTO "Event" ("eventId", "unitId", name, value, "experimentId", "excludedExperiments", properties, context, "timestamp", "receivedAt")
       SELECT i.event_id, i.unit_id, i.name, i.value, i.exp_id, p.excluded, i.properties, i.context, (i.ts AT TIME ZONE 'UTC'), now() AT TIME ZONE 'UTC'
       FROM input i LEFT JOIN prior p ON i.scope = '' AND p."eventId" = i.event_id
       WHERE i.scope = '' OR EXISTS (SELECT 1 FROM restricted f WHERE f."eventId" = i.event_id AND f.scope = i.scope)
       ORDER BY i.ord`,
      values: [
        rest.map((r) => r.item.eventId),
        rest.map((r) => r.scope),
        rest.map((r) => r.item.unitId),
        rest.map((r) => r.item.name),
        rest.map((r) => r.item.value),
        rest.map((r) => r.experimentId),
        rest.map((r) => JSON.stringify(r.item.properties ?? {})),
        rest.map((r) => JSON.stringify(r.item.context ?? {})),
        rest.map((r) => r.item.timestamp),
        dedupeWindowSeconds,
        release,
        [...unrestricted].filter((id) => free.has(id)),
      ],
    });
    return res.rowCount ?? 0;
  });
}

/**
 * SQL condition: event row `e` counts for the experiment whose id is the SQL expression `experimentId`
 * (unrestricted and not excluded there, or restricted to it).
 */
export function eventCountsFor(e: string, experimentId: string): string {
  return `(${e}."experimentId" = ${experimentId} OR (${e}."experimentId" IS NULL AND (${e}."excludedExperiments" IS NULL OR NOT ${experimentId} = ANY(${e}."excludedExperiments"))))`;
}

export interface EventWriteOptions {
  dedupeWindowSeconds?: number;
  /** Days of events kept; older timestamps have no partition and go to dead letters. */
  retentionDays?: number;
  now?: Date;
}

export async function writeEvents(pool: Pool, items: OutcomeEvent[], opts: EventWriteOptions = {}): Promise<WriteResult> {
  const window = opts.dedupeWindowSeconds ?? DEFAULT_DEDUPE_WINDOW_SECONDS;
  const now = opts.now ?? new Date();
  const oldest = dayOf(retentionStart(now, opts.retentionDays ?? DEFAULT_RETENTION_DAYS));
  const newest = addDays(dayOf(now), MAX_DAYS_AHEAD);
  const storable = (i: OutcomeEvent) => {
    const d = dayOfTimestamp(i.timestamp);
    return d !== null && d >= oldest && d <= newest;
  };
  const ids = await experimentIds(pool, items.flatMap((i) => (i.experiment === undefined ? [] : [i.experiment])));
  const unknown = items.filter((i) => i.experiment !== undefined && !ids.has(i.experiment));
  let deadLettered = 0;
  for (const key of new Set(unknown.map((i) => i.experiment!))) {
    deadLettered += await insertDeadLetters(pool, 'events', unknown.filter((i) => i.experiment === key), `experiment: no experiment '${key}'`);
  }
  const known = items.filter((i) => i.experiment === undefined || ids.has(i.experiment));
  const outOfRange = known.filter((i) => !storable(i));
  deadLettered += await insertDeadLetters(pool, 'events', outOfRange, `timestamp: outside the stored days (${oldest} to ${newest})`);
  const rows = uniqueSorted(
    known.filter(storable).map((item) => {
      const experimentId = item.experiment === undefined ? null : ids.get(item.experiment)!;
      return { item, experimentId, scope: experimentId ?? '' };
    }),
    // eventId first: the order in which every batch takes its eventIds' claim rows.
    (r) => `${r.item.eventId}\u0000${r.scope}`,
  );
  const days = [...new Set(rows.map((r) => dayOfTimestamp(r.item.timestamp)).filter((d): d is Day => d !== null))];
  await ensurePartitions(pool, days);
  const insert = async (batch: EventRow[]) => {
    try {
      return await insertEventRows(pool, batch, window);
    } catch (e) {
      // A partition dropped (or never seen) since this process looked: check again, retry once.
      if (!isMissingPartition(e)) throw e;
      await ensurePartitions(pool, [...new Set(batch.map((r) => dayOfTimestamp(r.item.timestamp)).filter((d): d is Day => d !== null))], true);
      return await insertEventRows(pool, batch, window);
    }
  };
  const out = await insertIsolatingPoison(rows, insert, async (bad, reason) => {
    await insertDeadLetters(pool, 'events', bad.map((r) => r.item), reason);
  });
  return { written: out.written, duplicates: items.length - deadLettered - out.written - out.rejected, deadLettered: deadLettered + out.rejected };
}

function dayOfTimestamp(ts: string): Day | null {
  const t = new Date(ts);
  return Number.isFinite(t.getTime()) && t.getUTCFullYear() >= 1000 && t.getUTCFullYear() <= 9999 ? dayOf(t) : null;
}

async function insertExposureRows(pool: Pool, items: Array<ExposureRecord & { experimentId: string }>): Promise<Array<{ experimentId: string; variant: string }>> {
  const res = await pool.query<{ experimentId: string; variant: string }>({
    name: 'expflow-insert-exposures',
    text: `INSERT INTO "Assignment" ("experimentId", "unitId", variant, propensity, segment, "snapshotVersion", context, "assignedAt")
     SELECT a.exp_id, a.unit_id, a.variant, a.propensity, a.segment, a.version, a.context, (a.at AT TIME ZONE 'UTC')
     FROM unnest($1::uuid[], $2::text[], $3::text[], $4::float8[], $5::int[], $6::int[], $7::jsonb[], $8::timestamptz[])
          WITH ORDINALITY AS a(exp_id, unit_id, variant, propensity, segment, version, context, at, ord)
     ORDER BY a.ord
     ON CONFLICT ("experimentId", "unitId") DO NOTHING
     RETURNING "experimentId", variant`,
    values: [
      items.map((i) => i.experimentId),
      items.map((i) => i.unitId),
      items.map((i) => i.variant),
      items.map((i) => i.propensity),
      items.map((i) => i.segment),
      items.map((i) => i.snapshotVersion),
      items.map((i) => JSON.stringify(i.context ?? {})),
      items.map((i) => i.assignedAt),
    ],
  });
  return res.rows;
}

export async function writeExposures(pool: Pool, items: ExposureRecord[]): Promise<WriteResult> {
  const ids = await experimentIds(pool, items.map((i) => i.experiment));
  const unknown = items.filter((i) => !ids.has(i.experiment));
  let deadLettered = 0;
  for (const key of new Set(unknown.map((i) => i.experiment))) {
    deadLettered += await insertDeadLetters(pool, 'exposures', unknown.filter((i) => i.experiment === key), `experiment: no experiment '${key}'`);
  }
  const rows = uniqueSorted(
    items.filter((i) => ids.has(i.experiment)).map((i) => ({ ...i, experimentId: ids.get(i.experiment)! })),
    (r) => `${r.experimentId}\u0000${r.unitId}`,
  );
  const keyOf = new Map([...ids].map(([key, id]) => [id, key]));
  const perArm = new Map<string, { experiment: string; variant: string; n: number }>();
  const insert = async (batch: typeof rows) => {
    const inserted = await insertExposureRows(pool, batch);
    for (const r of inserted) {
      const experiment = keyOf.get(r.experimentId) ?? r.experimentId;
      const k = `${experiment}\u0000${r.variant}`;
      let arm = perArm.get(k);
      if (!arm) perArm.set(k, (arm = { experiment, variant: r.variant, n: 0 }));
      arm.n++;
    }
    return inserted.length;
  };
  const out = await insertIsolatingPoison(rows, insert, async (bad, reason) => {
    await insertDeadLetters(pool, 'exposures', bad.map(({ experimentId: _, ...r }) => r), reason);
  });
  return { written: out.written, duplicates: items.length - unknown.length - out.written - out.rejected, deadLettered: deadLettered + out.rejected, exposuresWritten: [...perArm.values()] };
}

/** Writes one queue job's items; on its final attempt a batch that still fails is dead-lettered whole. */
export async function writeJob(
  pool: Pool,
  job: { kind: DeadLetterKind; items: unknown[] },
  opts: EventWriteOptions & { finalAttempt: boolean },
): Promise<WriteResult> {
  try {
    return job.kind === 'events'
      ? await writeEvents(pool, job.items as OutcomeEvent[], opts)
      : await writeExposures(pool, job.items as ExposureRecord[]);
  } catch (e) {
    if (!opts.finalAttempt) throw e;
    const n = await insertDeadLetters(pool, job.kind, job.items, `batch failed on its final attempt: ${(e as Error).message}`);
    return { written: 0, duplicates: 0, deadLettered: n };
  }
}

/** Forgets eventIds received longer ago than the dedupe window (run by the storage maintenance); returns how many. */
export async function pruneEventDedupe(pool: Pool, windowSeconds: number): Promise<number> {
  const pruned = await pool.query(`DELETE FROM "EventDedupe" WHERE "receivedAt" < (now() AT TIME ZONE 'UTC') - make_interval(secs => $1)`, [windowSeconds]);
  return pruned.rowCount ?? 0;
}
