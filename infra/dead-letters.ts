/**
 * Dead letters: queue items Postgres refused on their own (after bisection isolated them), or whose
 * batch still failed on its final attempt, kept with the reason until replayed onto the queue.
 */
import type { Pool } from 'pg';
import { inTransaction } from './pg.js';
import type { EventsJob } from './queues.js';

export type DeadLetterKind = EventsJob['kind'];

export interface DeadLetterRow {
  id: string;
  kind: DeadLetterKind;
  /** The queue item, as JSON text (it may hold what jsonb cannot, such as \u0000). */
  payload: string;
  reason: string;
  createdAt: string;
  replayedAt: string | null;
}

/** Strips NUL: the reason quotes the rejected value at times, and a text column cannot hold NUL. */
const printable = (s: string) => s.replace(/\u0000/g, '\\u0000').slice(0, 2000);

export async function insertDeadLetters(pool: Pool, kind: DeadLetterKind, items: unknown[], reason: string): Promise<number> {
  if (!items.length) return 0;
  await pool.query(
    `INSERT INTO "DeadLetter" (kind, payload, reason) SELECT $1, p, $3 FROM unnest($2::text[]) AS t(p)`,
    [kind, items.map((i) => JSON.stringify(i)), printable(reason)],
  );
  return items.length;
}

export async function listDeadLetters(pool: Pool, opts: { limit: number; afterId?: string; includeReplayed: boolean }): Promise<DeadLetterRow[]> {
  const res = await pool.query<{ id: string; kind: DeadLetterKind; payload: string; reason: string; createdAt: Date; replayedAt: Date | null }>(
    `SELECT id::text, kind, payload, reason, "createdAt", "replayedAt" FROM "DeadLetter"
     WHERE ($1::boolean OR "replayedAt" IS NULL) AND id > $2::bigint
     ORDER BY id LIMIT $3`,
    [opts.includeReplayed, opts.afterId ?? '0', opts.limit],
  );
  return res.rows.map((r) => ({ ...r, createdAt: r.createdAt.toISOString(), replayedAt: r.replayedAt?.toISOString() ?? null }));
}

/**
 * Marks the chosen dead letters replayed and hands their items to `enqueue` in the same
 * transaction: if enqueueing fails nothing is marked, and a letter is never replayed twice at once
 * (rows are locked, SKIP LOCKED leaves those another replay holds).
 */
export async function replayDeadLetters(
  pool: Pool,
  select: { ids: string[] } | { all: true; limit: number },
  enqueue: (kind: DeadLetterKind, items: unknown[]) => Promise<void>,
): Promise<{ replayed: number; ids: string[] }> {
  return inTransaction(pool, async (client) => {
    const res = 'ids' in select
      ? await client.query<{ id: string; kind: DeadLetterKind; payload: string }>(
          `SELECT id::text, kind, payload FROM "DeadLetter" WHERE id = ANY($1::bigint[]) AND "replayedAt" IS NULL ORDER BY id FOR UPDATE SKIP LOCKED`,
          [select.ids],
        )
      : await client.query<{ id: string; kind: DeadLetterKind; payload: string }>(
          `SELECT id::text, kind, payload FROM "DeadLetter" WHERE "replayedAt" IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
          [select.limit],
        );
    for (const kind of ['events', 'exposures'] as const) {
      const items = res.rows.filter((r) => r.kind === kind).map((r) => JSON.parse(r.payload) as unknown);
      if (items.length) await enqueue(kind, items);
    }
    const ids = res.rows.map((r) => r.id);
    await client.query(`UPDATE "DeadLetter" SET "replayedAt" = now() AT TIME ZONE 'UTC' WHERE id = ANY($1::bigint[])`, [ids]);
    return { replayed: ids.length, ids };
  });
}
