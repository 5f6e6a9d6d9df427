import { describe, expect, it } from 'vitest';
import {
  assign,
  blockLayout,
  compileSnapshot,
  pickFromBlock,
  stratumCounterKey,
  stratumKey,
} from '../../../domain/assignment/index.js';
import { makeSnapshot, segment } from './helpers.js';

describe('stratumKey', () => {
  it('joins strata in the given order and marks missing values', () => {
    expect(stratumKey({ country: 'US', device: 'ios' }, ['country', 'device'])).toBe('country=US|device=ios');
    expect(stratumKey({ country: 'US' }, ['device', 'country'])).toBe('device=~|country=US');
  });
});

describe('blockLayout', () => {
  it.each<[Record<string, number>, number, number[]]>([
    [{ a: 0.5, b: 0.5 }, 2, [1, 1]],
    [{ a: 1 / 3, b: 1 / 3, c: 1 / 3 }, 3, [1, 1, 1]],
    [{ a: 0.2, b: 0.8 }, 5, [1, 4]],
    [{ a: 0.25, b: 0.25, c: 0.5 }, 4, [1, 1, 2]],
    [{ a: 0.1, b: 0.35, c: 0.55 }, 20, [2, 7, 11]],
    [{ a: 0, b: 1 }, 1, [1]],
  ])('%j → size %i', (w, size, counts) => {
    expect(blockLayout(w)).toMatchObject({ size, counts });
  });
  it('rounds weights that need too large a block to 1/100 by largest remainder', () => {
    const l = blockLayout({ a: 0.123456, b: 0.876544 });
    expect(l.size).toBe(100);
    expect(l.counts).toEqual([12, 88]);
  });
});

describe('pickFromBlock', () => {
  it.each<[Record<string, number>]>([[{ a: 0.5, b: 0.5 }], [{ a: 0.2, b: 0.3, c: 0.5 }], [{ a: 1 / 3, b: 1 / 3, c: 1 / 3 }]])(
    'arms are balanced at every moment for %j',
    (w) => {
      const { size, arms, counts } = blockLayout(w);
      const seen = Object.fromEntries(arms.map((a) => [a, 0]));
      for (let counter = 1; counter <= 50 * size; counter++) {
        seen[pickFromBlock(counter, w, 'exp|stratum')]!++;
        const blocksDone = Math.floor(counter / size);
        arms.forEach((a, i) => {
          // Never more than one block's worth away from the exact weight × n.
          expect(Math.abs(seen[a]! - w[a]! * counter)).toBeLessThanOrEqual(counts[i]!);
          if (counter % size === 0) expect(seen[a]).toBe(blocksDone * counts[i]!);
        });
      }
    },
  );
  it('blocks are shuffled differently per block and per seed', () => {
    const w = { a: 0.5, b: 0.5 };
    const seq = (seed: string) => Array.from({ length: 40 }, (_, i) => pickFromBlock(i + 1, w, seed)).join('');
    expect(seq('s1')).not.toBe(seq('s2'));
    expect(seq('s1')).toBe(seq('s1'));
    expect(seq('s1')).not.toBe('ab'.repeat(20));
  });
  it('rejects a counter that is not a positive integer', () => {
    expect(() => pickFromBlock(0, { a: 1 }, 's')).toThrow(RangeError);
  });
});

describe('assign with stratified randomisation', () => {
  const snap = makeSnapshot({
    randomization: { type: 'stratified', strata: ['country'] },
    segments: [segment(0, { control: 0.5, b: 0.25, c: 0.25 })],
  });
  it('uses the counter the API got from the stratum key, keeping each stratum balanced', () => {
    const prep = compileSnapshot(snap);
    const counters = new Map<string, number>();
    const perStratum = new Map<string, Record<string, number>>();
    for (let i = 0; i < 400; i++) {
      const ctx = { country: i % 3 === 0 ? 'US' : 'DE' };
      const first = assign(`u${i}`, prep, ctx);
      const key = stratumCounterKey(prep, first, ctx)!;
      expect(key).toContain('country=');
      const c = (counters.get(key) ?? 0) + 1; // the API's INCR
      counters.set(key, c);
      const a = assign(`u${i}`, prep, ctx, { counter: c });
      expect(a.reason).toBe('stratified');
      expect(a.propensity).toBe(snap.segments[0]!.weights[a.variant]);
      const tally = perStratum.get(key) ?? { control: 0, b: 0, c: 0 };
      tally[a.variant]!++;
      perStratum.set(key, tally);
      if (c % 4 === 0) expect(tally).toEqual({ control: c / 2, b: c / 4, c: c / 4 });
    }
    expect(perStratum.size).toBe(2);
  });
  it('no counter key for non-enrolled units or simple randomisation', () => {
    const prep = compileSnapshot(makeSnapshot());
    expect(stratumCounterKey(prep, assign('u1', prep, {}), {})).toBeNull();
    const paused = compileSnapshot({ ...snap, phase: 'paused' });
    expect(stratumCounterKey(paused, assign('u1', paused, {}), {})).toBeNull();
  });
});
