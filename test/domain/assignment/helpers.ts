import type { AllocationSnapshot, SnapshotSegment } from '../../../domain/types.js';
import jstatModule from 'jstat';

const { jStat } = jstatModule;

/** A running 3-arm snapshot with one segment; override anything per test. */
export function makeSnapshot(over: Partial<AllocationSnapshot> = {}): AllocationSnapshot {
  return {
    experimentKey: 'checkout',
    version: 7,
    cycle: 3,
    seed: 'checkout-seed',
    hashVersion: 1,
    phase: 'running',
    variants: [
      { key: 'control', isControl: true },
      { key: 'b', isControl: false },
      { key: 'c', isControl: false },
    ],
    defaultVariant: 'control',
    segments: [segment(0, { control: 0.5, b: 0.3, c: 0.2 })],
    segmentFeatures: [],
    sticky: true,
    createdAt: '2025-01-01T00:00:00.000Z',
    reason: 'test',
    ...over,
  };
}

export function segment(id: number, weights: Record<string, number>, over: Partial<SnapshotSegment> = {}): SnapshotSegment {
  return { id, status: 'active', coverage: 1, weights, centroid: null, ...over };
}

/** Upper-tail p-value of Pearson's chi-square for observed counts vs expected counts. */
export function chiSquareP(observed: number[], expected: number[]): number {
  let x = 0;
  for (let i = 0; i < observed.length; i++) x += (observed[i]! - expected[i]!) ** 2 / expected[i]!;
  return 1 - jStat.chisquare.cdf(x, observed.length - 1);
}

/** p-value of the chi-square independence test on an r×c contingency table. */
export function independenceP(table: number[][]): number {
  const r = table.length;
  const c = table[0]!.length;
  const rows = table.map((row) => row.reduce((a, b) => a + b, 0));
  const cols = Array.from({ length: c }, (_, j) => table.reduce((a, row) => a + row[j]!, 0));
  const n = rows.reduce((a, b) => a + b, 0);
  let x = 0;
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) {
    const e = (rows[i]! * cols[j]!) / n;
    x += (table[i]![j]! - e) ** 2 / e;
  }
  return 1 - jStat.chisquare.cdf(x, (r - 1) * (c - 1));
}
