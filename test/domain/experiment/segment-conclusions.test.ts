import { describe, expect, it } from 'vitest';
import { servingForConcludedSegments, servingWeights } from '../../../domain/experiment/segment-conclusions.js';

const d = (segmentId: number, arm: string, outcome: 'ship' | 'harm' | 'none', adjustedPValue = 0.01, estimate = 0.01) => ({ segmentId, arm, outcome, adjustedPValue, estimate });

describe('servingForConcludedSegments', () => {
  it('serves the most significant shipped arm, control after proven harm, and nothing otherwise', () => {
    const m = servingForConcludedSegments(
      [
        d(0, 'b', 'ship', 0.02),
        d(0, 'c', 'ship', 0.001),
        d(1, 'b', 'harm'),
        d(1, 'c', 'none', 0.4),
        d(2, 'b', 'none', 0.3),
        d(3, 'b', 'harm'),
        d(3, 'c', 'ship', 0.03),
      ],
      'control',
    );
    expect(m.get(0)?.serve).toBe('c');
    expect(m.get(1)?.serve).toBe('control');
    expect(m.has(2)).toBe(false);
    expect(m.get(3)?.serve).toBe('c'); // a better arm wins over a harmful one
    expect(m.get(0)?.reason).toMatch(/segment 0 concluded: ship c/);
  });

  it('puts all weight on the served variant', () => {
    expect(servingWeights(['control', 'b', 'c'], 'b')).toEqual({ control: 0, b: 1, c: 0 });
  });
});
