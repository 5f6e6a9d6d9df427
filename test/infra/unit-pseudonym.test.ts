import { describe, expect, it } from 'vitest';
import { createRng } from '../../domain/rng.js';
import { createPseudonymiser, pseudonymiseUnitId } from '../../infra/unit-pseudonym.js';

describe('createPseudonymiser with a cache', () => {
  it('answers exactly the HMAC, through hits, misses and evictions', () => {
    const key = 'test-unit-id-key-0123456789';
    const cached = createPseudonymiser(key, 100);
    const rng = createRng(3);
    for (let i = 0; i < 5000; i++) {
      // 300 distinct units for a cache of 100: frequent hits and evictions.
      const unit = `u${Math.floor(rng() * 300)}${i % 7 === 0 ? 'é\u{1f600}' : ''}`;
      expect(cached(unit)).toBe(pseudonymiseUnitId(key, unit));
    }
    expect(createPseudonymiser(key)('u1')).toBe(pseudonymiseUnitId(key, 'u1'));
  });
});
