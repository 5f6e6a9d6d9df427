/**
 * What Postgres cannot store, found before a row reaches it: a NUL character (text and jsonb both
 * refuse U+0000, in values and in object keys) and a timestamp outside the stored days.
 */
import { addDays, dayOf, retentionStart } from '../storage/partition-plan.js';

/** Path of the first string or object key holding U+0000 (`""` for the value itself), or null. */
export function findNul(value: unknown, path = ''): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = findNul(value[i], `${path}[${i}]`);
      if (p !== null) return p;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const here = path ? `${path}.${k}` : k;
      if (k.includes('\u0000')) return here;
      const p = findNul(v, here);
      if (p !== null) return p;
    }
  }
  return null;
}

/**
 * Why a timestamp cannot be stored, or null when it can: events are kept `retentionDays` full days,
 * and may run at most `daysAhead` days ahead of the server's clock.
 */
export function timestampProblem(ts: Date, now: Date, opts: { retentionDays: number; daysAhead: number }): string | null {
  if (!Number.isFinite(ts.getTime())) return 'not a valid time';
  const oldest = retentionStart(now, opts.retentionDays);
  if (ts < oldest) return `older than the retention window (${opts.retentionDays} days, from ${oldest.toISOString()})`;
  if (dayOf(ts) > addDays(dayOf(now), opts.daysAhead)) return `more than ${opts.daysAhead} day(s) ahead of the server's clock`;
  return null;
}
