/**
 * What Postgres cannot store, found before a row reaches it: a NUL character (text and jsonb both
 * refuse U+0000, in values and in object keys) and a timestamp outside the stored days.
 */
import { addDays, dayOf, dayStart, retentionStart } from '../storage/partition-plan.js';

/** Path of the first string or object key holding U+0000 (`""` for the value itself), or null. */
export function findNul(value: unknown, path = ''): string | null {
  if (typeof value === 'string') return value.indexOf('\u0000') === -1 ? null : path;
  if (value === null || typeof value !== 'object') return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = findNul(value[i], `${path}[${i}]`);
      if (p !== null) return p;
    }
    return null;
  }
  // for…in over own keys: this runs for every ingested event, and Object.entries allocates.
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue;
    if (k.indexOf('\u0000') !== -1) return path ? `${path}.${k}` : k;
    const v = (value as Record<string, unknown>)[k];
    if (typeof v === 'string' ? v.indexOf('\u0000') === -1 : v === null || typeof v !== 'object') continue;
    const p = findNul(v, path ? `${path}.${k}` : k);
    if (p !== null) return p;
  }
  return null;
}

/** Instants an event may carry and still be stored: [from, until). */
export interface StorableRange {
  from: number;
  until: number;
  retentionDays: number;
  daysAhead: number;
}

/**
 * Events are kept `retentionDays` full days (the oldest kept day starts at `from`) and may run at
 * most `daysAhead` days ahead of the server's clock (to the end of that day).
 */
export function storableRange(now: Date, opts: { retentionDays: number; daysAhead: number }): StorableRange {
  return {
    from: retentionStart(now, opts.retentionDays).getTime(),
    until: dayStart(addDays(dayOf(now), opts.daysAhead + 1)).getTime(),
    ...opts,
  };
}

/** Why a timestamp (ms since the epoch) cannot be stored, or null when it can. */
export function timestampProblem(ts: number, range: StorableRange): string | null {
  if (!Number.isFinite(ts)) return 'not a valid time';
  if (ts < range.from) return `older than the retention window (${range.retentionDays} days, from ${new Date(range.from).toISOString()})`;
  if (ts >= range.until) return `more than ${range.daysAhead} day(s) ahead of the server's clock`;
  return null;
}
