/** The 3-arm experiment (50/25/25) every part of bench:assign measures. */
import type { AllocationSnapshot } from '../../domain/types.js';

export function benchSnapshot(key: string, sticky: boolean): AllocationSnapshot {
  return {
    experimentKey: key,
    // Newer than anything stored under this key, so the compare-and-set in Redis accepts it.
    version: Math.floor(Date.now() / 1000),
    cycle: 1,
    seed: `${key}-seed`,
    hashVersion: 2,
    phase: 'running',
    variants: [
      { key: 'control', isControl: true },
      { key: 'b', isControl: false },
      { key: 'c', isControl: false },
    ],
    defaultVariant: 'control',
    segments: [{ id: 0, status: 'active', coverage: 1, weights: { control: 0.5, b: 0.25, c: 0.25 }, centroid: null }],
    segmentFeatures: [],
    randomization: { type: 'simple' },
    sticky,
    createdAt: new Date().toISOString(),
    reason: 'bench',
  };
}
