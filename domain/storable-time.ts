/**
 * The times expflow stores or queries on: years 1 to 9999 (UTC). PostgreSQL's timestamp has no
 * year 0 and no negative years past 4713 BC, so `0000-01-01T00:00:00Z` or `-200000-01-01` reached
 * a query as "date/time field value out of range" (a 500); JavaScript's Date ends at ±275,760
 * years, so a window end past it is an "Invalid time value". Four-digit ISO-8601 years are the
 * range both agree on and the only one clients send.
 */
import { z } from 'zod';

const MIN_MS = Date.parse('0001-01-01T00:00:00.000Z');
const MAX_MS = Date.parse('9999-12-31T23:59:59.999Z');

export const STORABLE_TIME_MESSAGE = 'must be a time between the years 1 and 9999 (UTC)';

/** True when `ms` (epoch milliseconds) is a time PostgreSQL and Date both hold. */
export function isStorableTime(ms: number): boolean {
  return Number.isFinite(ms) && ms >= MIN_MS && ms <= MAX_MS;
}

/** An ISO-8601 date-time with an offset, in the storable range. */
export const storableDateTime = z.iso.datetime({ offset: true }).refine((t) => isStorableTime(Date.parse(t)), STORABLE_TIME_MESSAGE);
