import { describe, expect, it } from 'vitest';
import vectors from '../../fixtures/assignment/hash-vectors.json' with { type: 'json' };
import { SALT, fnv1a32, hashUnit } from '../../../domain/assignment/index.js';
import { chiSquareP, independenceP } from './helpers.js';

describe('hash test vectors (frozen: stored assignments depend on them)', () => {
  it.each(vectors.fnv)('fnv1a32($input)', ({ input, fnv1a32: expected }) => {
    expect(fnv1a32(input)).toBe(expected);
  });
  it('matches every frozen v1 and v2 draw exactly', () => {
    for (const c of vectors.cases) {
      expect(hashUnit(c.seed, c.unit, c.salt, 1), `v1 ${c.seed}/${c.unit}/${c.salt}`).toBe(c.v1);
      expect(hashUnit(c.seed, c.unit, c.salt, 2), `v2 ${c.seed}/${c.unit}/${c.salt}`).toBe(c.v2);
    }
  });
  it('v2 refines v1: same top 32 bits, so switching versions moves almost no unit', () => {
    for (const c of vectors.cases) expect(Math.floor(c.v2 * 2 ** 32)).toBe(Math.floor(c.v1 * 2 ** 32));
  });
  it('rejects an unknown version', () => {
    expect(() => hashUnit('s', 'u', 'variant', 3 as never)).toThrow(/unknown hash version/);
  });
});

describe('uniformity: chi-square over 100 buckets', () => {
  const N = 100_000;
  const idFormats: Array<[string, (i: number) => string]> = [
    ['sequential', (i) => `user-${i}`],
    ['numeric', (i) => String(i)],
    ['uuid-like', (i) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`],
  ];
  for (const version of [1, 2] as const) {
    for (const salt of Object.values(SALT)) {
      it.each(idFormats)(`v${version} ${salt} with %s ids`, (_name, id) => {
        const counts = new Array(100).fill(0);
        for (let i = 0; i < N; i++) counts[Math.floor(hashUnit('exp-uniform', id(i), salt, version) * 100)]++;
        // p > 0.001 per test: 24 tests, so a false alarm is rare, and a real bias is far below this.
        expect(chiSquareP(counts, new Array(100).fill(N / 100))).toBeGreaterThan(0.001);
      });
    }
  }
});

describe('independence', () => {
  const N = 50_000;
  function table(a: (i: number) => number, b: (i: number) => number): number[][] {
    const t = Array.from({ length: 10 }, () => new Array(10).fill(0));
    for (let i = 0; i < N; i++) t[Math.floor(a(i) * 10)]![Math.floor(b(i) * 10)]++;
    return t;
  }
  it('across experiments: the same unit lands independently in two experiments', () => {
    const t = table((i) => hashUnit('exp-A', `u${i}`, SALT.variant), (i) => hashUnit('exp-B', `u${i}`, SALT.variant));
    expect(independenceP(t)).toBeGreaterThan(0.001);
  });
  it('across experiments with similar seeds', () => {
    const t = table((i) => hashUnit('exp-1', `u${i}`, SALT.variant), (i) => hashUnit('exp-2', `u${i}`, SALT.variant));
    expect(independenceP(t)).toBeGreaterThan(0.001);
  });
  it.each([
    [SALT.coverage, SALT.variant],
    [SALT.holdout, SALT.layer],
    [SALT.holdout, SALT.variant],
  ])('across salts within one seed: %s vs %s', (s1, s2) => {
    const t = table((i) => hashUnit('exp-A', `u${i}`, s1), (i) => hashUnit('exp-A', `u${i}`, s2));
    expect(independenceP(t)).toBeGreaterThan(0.001);
  });
});
