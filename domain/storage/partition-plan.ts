/**
 * Which daily partitions of "Event" to create and which to drop. A partition holds one UTC day
 * [day, day + 1); it is dropped once its whole day lies before the retention cut-off, so an event is
 * kept at least `retentionDays` full days.
 */

/** UTC day as `YYYYMMDD`, the suffix of a partition's name (`Event_p20261130`). */
export type Day = string;

const DAY_MS = 86_400_000;

export function dayOf(t: Date): Day {
  return t.toISOString().slice(0, 10).replace(/-/g, '');
}

/** Midnight UTC that starts `day`. */
export function dayStart(day: Day): Date {
  if (!/^\d{8}$/.test(day)) throw new Error(`not a day: '${day}'`);
  return new Date(`${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}T00:00:00.000Z`);
}

export function addDays(day: Day, n: number): Day {
  return dayOf(new Date(dayStart(day).getTime() + n * DAY_MS));
}

/** The oldest instant an event may carry and still be stored (start of the oldest kept day). */
export function retentionStart(now: Date, retentionDays: number): Date {
  return dayStart(addDays(dayOf(now), -retentionDays));
}

export interface PartitionPlan {
  create: Day[];
  drop: Day[];
}

/**
 * Creates today and `daysAhead` days ahead (so writers rarely create one on the hot path) and drops
 * every existing day older than the retention.
 */
export function planPartitions(existing: Day[], now: Date, opts: { retentionDays: number; daysAhead: number }): PartitionPlan {
  const have = new Set(existing);
  const today = dayOf(now);
  const create: Day[] = [];
  for (let i = 0; i <= opts.daysAhead; i++) {
    const d = addDays(today, i);
    if (!have.has(d)) create.push(d);
  }
  const oldestKept = addDays(today, -opts.retentionDays);
  const drop = existing.filter((d) => d < oldestKept).sort();
  return { create, drop };
}
