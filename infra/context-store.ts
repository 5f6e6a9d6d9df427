/**
 * Context signals: the time series in Postgres (`ContextSignal`) and the current value per
 * (signal, scope) in one Redis hash, announced on a channel so every API process refreshes its
 * in-memory copy (the /assign path never waits on Redis or Postgres for context).
 */
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { expiresAt, scopeKey, signalId, type ContextSignal } from '../domain/context/signals.js';

export const CONTEXT_CHANNEL = 'expflow:context';
const CURRENT_SIGNALS_KEY = 'expflow:context:current';

/** Stores signals; returns the ones that were new (a repeated observation is stored once). */
export async function storeSignals(pool: Pool, signals: readonly ContextSignal[]): Promise<ContextSignal[]> {
  if (!signals.length) return [];
  const res = await pool.query<{ source: string; name: string; scopeKey: string; ms: number }>(
    `INSERT INTO "ContextSignal" (source, name, value, "timestamp", "ttlSeconds", scope, "scopeKey")
     SELECT s.source, s.name, s.value, (s.ts AT TIME ZONE 'UTC'), s.ttl, s.scope, s.scope_key
     FROM unnest($1::text[], $2::text[], $3::float8[], $4::timestamptz[], $5::int[], $6::jsonb[], $7::text[])
          AS s(source, name, value, ts, ttl, scope, scope_key)
     ORDER BY s.source, s.name, s.scope_key, s.ts
     ON CONFLICT (source, name, "scopeKey", "timestamp") DO NOTHING
     RETURNING source, name, "scopeKey", round(extract(epoch FROM ("timestamp" AT TIME ZONE 'UTC')) * 1000)::float8 AS ms`,
    [
      signals.map((s) => s.source),
      signals.map((s) => s.name),
      signals.map((s) => s.value),
      signals.map((s) => s.timestamp),
      signals.map((s) => (s.ttlSeconds == null ? null : Math.round(s.ttlSeconds))),
      signals.map((s) => JSON.stringify(s.scope)),
      signals.map((s) => scopeKey(s.scope)),
    ],
  );
  const fresh = new Set(res.rows.map((r) => `${r.source}\u001f${r.name}\u001f${r.scopeKey}\u001f${r.ms}`));
  const seen = new Set<string>();
  return signals.filter((s) => {
    const k = `${s.source}\u001f${s.name}\u001f${scopeKey(s.scope)}\u001f${Date.parse(s.timestamp)}`;
    if (!fresh.has(k) || seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

// KEYS[1] hash; ARGV = field, json, timestampMs, ... ; keeps the newer value per field, then announces.
const PUT_NEWER = `
for i = 1, #ARGV, 3 do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  local keep = false
  if cur then
    local ok, obj = pcall(cjson.decode, cur)
    if ok and obj.t and tonumber(obj.t) > tonumber(ARGV[i + 2]) then keep = true end
  end
  if not keep then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
redis.call('PUBLISH', '${CONTEXT_CHANNEL}', 'updated')
return 1`;

/** Makes these the current values of their (signal, scope) unless a newer one is held; drops expired ones. */
export async function publishCurrentSignals(redis: Redis, signals: readonly ContextSignal[], nowMs: number): Promise<void> {
  const args: string[] = [];
  for (const s of signals) {
    args.push(`${signalId(s)}\u001f${scopeKey(s.scope)}`, JSON.stringify({ t: Date.parse(s.timestamp), s }), String(Date.parse(s.timestamp)));
  }
  if (args.length) await redis.eval(PUT_NEWER, 1, CURRENT_SIGNALS_KEY, ...args);
  const expired = (await loadCurrentSignalEntries(redis)).filter((e) => expiresAt(e.signal) <= nowMs).map((e) => e.field);
  if (expired.length) await redis.hdel(CURRENT_SIGNALS_KEY, ...expired);
}

async function loadCurrentSignalEntries(redis: Redis): Promise<Array<{ field: string; signal: ContextSignal }>> {
  const all = await redis.hgetall(CURRENT_SIGNALS_KEY);
  const out: Array<{ field: string; signal: ContextSignal }> = [];
  for (const [field, raw] of Object.entries(all)) {
    try {
      out.push({ field, signal: (JSON.parse(raw) as { s: ContextSignal }).s });
    } catch {
      // A value this version cannot read is skipped, not fatal to the cache.
    }
  }
  return out;
}

/** Every value held as current (expired ones may remain until the next publish; readers re-check). */
export async function loadCurrentSignals(redis: Redis): Promise<ContextSignal[]> {
  return (await loadCurrentSignalEntries(redis)).map((e) => e.signal);
}

const PRUNE_BATCH = 10_000;

/**
 * Retention of the signal time series: deletes observations older than `before`, except each
 * series' newest one, so the last known value of a slow feed stays readable. Deletes in batches
 * (short transactions, no long lock on the table); returns how many rows went.
 */
export async function pruneSignals(pool: Pool, before: Date): Promise<number> {
  let total = 0;
  for (;;) {
    const res = await pool.query(
      `DELETE FROM "ContextSignal" WHERE id IN (
         SELECT c.id FROM "ContextSignal" c
         WHERE c."timestamp" < ($1::timestamptz AT TIME ZONE 'UTC')
           AND EXISTS (SELECT 1 FROM "ContextSignal" n
                       WHERE n.source = c.source AND n.name = c.name AND n."scopeKey" = c."scopeKey" AND n."timestamp" > c."timestamp")
         LIMIT ${PRUNE_BATCH})`,
      [before.toISOString()],
    );
    total += res.rowCount ?? 0;
    if ((res.rowCount ?? 0) < PRUNE_BATCH) return total;
  }
}
