/**
 * Time features of an exposure in the experiment's time zone: hour of day (0–23) and ISO day of
 * week (1 = Monday … 7 = Sunday). Time-zone arithmetic uses the IANA database built into Intl.
 * Results are memoised per (zone, minute): every zone's offset changes only on minute boundaries,
 * so the hot path formats a date at most once a minute per zone.
 */
export interface TimeFeatures {
  'time.hourOfDay': number;
  'time.dayOfWeek': number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const memo = new Map<string, { minute: number; features: TimeFeatures }>();
const WEEKDAY: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

/** True if `timeZone` is an IANA zone (or UTC) this runtime knows. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hour: 'numeric', hourCycle: 'h23', weekday: 'short' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Hour of day and day of week at `nowMs` in `timeZone`; throws RangeError for an unknown zone. */
export function timeFeatures(nowMs: number, timeZone: string): TimeFeatures {
  const minute = Math.floor(nowMs / 60_000);
  const hit = memo.get(timeZone);
  if (hit && hit.minute === minute) return hit.features;
  let hour = 0;
  let day = 0;
  for (const p of formatterFor(timeZone).formatToParts(new Date(nowMs))) {
    if (p.type === 'hour') hour = Number(p.value) % 24;
    else if (p.type === 'weekday') day = WEEKDAY[p.value] ?? 0;
  }
  const features = { 'time.hourOfDay': hour, 'time.dayOfWeek': day };
  memo.set(timeZone, { minute, features });
  return features;
}
