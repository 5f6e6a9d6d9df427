import { describe, expect, it } from 'vitest';
import { applyBranching, closedArmsBySegment, servingForConcludedSegments, servingWeights } from '../../../domain/decision/segment-conclusions.js';

const d = (segmentId: number, arm: string, outcome: 'ship' | 'harm' | 'end' | 'none', adjustedPValue = 0.01, estimate = 0.01) => ({ segmentId, arm, outcome, adjustedPValue, estimate });

describe('servingForConcludedSegments', () => {
  it('serves the most significant shipped arm, control once every arm is harmful or ended, and nothing otherwise', () => {
    const m = servingForConcludedSegments(
      [
        d(0, 'b', 'ship', 0.02),
        d(0, 'c', 'ship', 0.001),
        d(1, 'b', 'harm'),
        d(1, 'c', 'none', 0.4),
        d(2, 'b', 'none', 0.3),
        d(3, 'b', 'harm'),
        d(3, 'c', 'ship', 0.03),
        d(4, 'b', 'harm'),
        d(4, 'c', 'end', 0.4),
      ],
      'control',
    );
    expect(m.get(0)?.serve).toBe('c');
    // One harmful arm does not take the segment's other arms with it: only that arm is closed there.
    expect(m.has(1)).toBe(false);
    expect(closedArmsBySegment([d(1, 'b', 'harm'), d(1, 'c', 'none', 0.4)]).get(1)).toEqual(['b']);
    expect(m.get(4)?.serve).toBe('control');
    expect(m.get(4)?.reason).toMatch(/b harmful, c ended/);
    expect(m.has(2)).toBe(false);
    expect(m.get(3)?.serve).toBe('c'); // a better arm wins over a harmful one
    expect(m.get(0)?.reason).toMatch(/segment 0 concluded: ship c/);
  });

  it('puts all weight on the served variant', () => {
    expect(servingWeights(['control', 'b', 'c'], 'b')).toEqual({ control: 0, b: 1, c: 0 });
  });
});

describe('applyBranching', () => {
  const base = { winner: null, segments: [1, 2], control: 'control' };
  const settled = (entries: Array<[number, string]>) => new Map(entries.map(([s, serve]) => [s, { serve, reason: '' }]));

  it('holds back a whole-population ship while a segment is still undecided', () => {
    const r = applyBranching({ ...base, outcome: 'ship', winner: 'b', rationale: 'b beats control', settled: settled([[2, 'b']]), terminated: new Set() });
    expect(r).toMatchObject({ outcome: 'continue', winner: null });
    expect(r.rationale).toMatch(/whole population: b beats control/);
  });

  it('ends the experiment once every segment has its answer, each keeping its own', () => {
    const r = applyBranching({ ...base, outcome: 'continue', rationale: '', settled: settled([[2, 'b'], [1, 'control']]), terminated: new Set() });
    expect(r).toEqual({ outcome: 'ship', winner: null, rationale: 'every segment has its answer: segment 1 → control; segment 2 → b.' });
  });

  it('names a winner when every segment settled on the same arm, and stops when none ships', () => {
    expect(applyBranching({ ...base, outcome: 'continue', rationale: '', settled: settled([[1, 'b'], [2, 'b']]), terminated: new Set() }).winner).toBe('b');
    expect(applyBranching({ ...base, outcome: 'continue', rationale: '', settled: settled([[1, 'control']]), terminated: new Set([2]) }).outcome).toBe('stop_harm');
    expect(applyBranching({ ...base, outcome: 'continue', rationale: '', settled: settled([]), terminated: new Set([1, 2]) }).outcome).toBe('stop_futility');
  });

  it('lets horizon outcomes through', () => {
    expect(applyBranching({ ...base, outcome: 'inconclusive', rationale: 'horizon', settled: settled([]), terminated: new Set() }).outcome).toBe('inconclusive');
  });
});
