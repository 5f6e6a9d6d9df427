import { describe, expect, it } from 'vitest';
import { addDays, dayOf, dayStart, planPartitions, retentionStart } from '../../../domain/storage/partition-plan.js';

describe('planPartitions', () => {
  const now = new Date('2026-03-01T15:00:00Z');
  it.each([
    { existing: [], create: ['20260301', '20260302', '20260303'], drop: [] },
    { existing: ['20260301', '20260302', '20260303'], create: [], drop: [] },
    // Kept: the 2 full days before today (from 20260227). Dropped: anything older.
    { existing: ['20260225', '20260226', '20260227', '20260301'], create: ['20260302', '20260303'], drop: ['20260225', '20260226'] },
  ])('existing $existing', ({ existing, create, drop }) => {
    expect(planPartitions(existing, now, { retentionDays: 2, daysAhead: 2 })).toEqual({ create, drop });
  });

  it('crosses month, year and leap-day boundaries in UTC', () => {
    expect(addDays('20240228', 1)).toBe('20240229');
    expect(addDays('20241231', 1)).toBe('20250101');
    expect(addDays('20250301', -1)).toBe('20250228');
    expect(dayOf(new Date('2026-03-01T23:59:59.999Z'))).toBe('20260301');
    expect(dayStart('20260301').toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(retentionStart(now, 2).toISOString()).toBe('2026-02-27T00:00:00.000Z');
  });

  it('refuses a malformed day', () => {
    expect(() => dayStart('2026-03-01')).toThrow(/not a day/);
  });
});
