/**
 * Unit ids are pseudonymised at the API edge with HMAC-SHA256 under a secret key (UNIT_ID_KEY):
 * the same unit always maps to the same pseudonym, nobody without the key can reverse it or test
 * a guess, and Redis and Postgres only ever see the pseudonym. Assignment hashing still uses the
 * raw id (in memory), so pseudonymising changes no unit's variant.
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

/** base64url of the 32-byte HMAC: 43 characters. */
export function pseudonymiseUnitId(key: string | KeyObject, unitId: string): string {
  return createHmac('sha256', key).update(unitId, 'utf8').digest('base64url');
}

export type Pseudonymise = (unitId: string) => string;

/**
 * The edge's pseudonymiser. An HMAC costs microseconds and units recur (a session sends many
 * events and assignments), so the last `cacheSize` answers are remembered in memory (oldest
 * dropped first); 0 turns the cache off.
 */
export function createPseudonymiser(key: string, cacheSize = 0): Pseudonymise {
  const secret = createSecretKey(Buffer.from(key, 'utf8'));
  if (cacheSize <= 0) return (unitId) => pseudonymiseUnitId(secret, unitId);
  const cache = new Map<string, string>();
  return (unitId) => {
    let p = cache.get(unitId);
    if (p === undefined) {
      p = pseudonymiseUnitId(secret, unitId);
      if (cache.size >= cacheSize) cache.delete(cache.keys().next().value as string);
      cache.set(unitId, p);
    }
    return p;
  };
}
