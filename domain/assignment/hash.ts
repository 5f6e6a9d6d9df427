/**
 * Deterministic unit hashing for assignment. Every draw is FNV-1a (32-bit, Math.imul) over
 * `seed ␟ unitId ␟`, then one more FNV step with the salt's own FNV-1a hash as the input word,
 * then the murmur3 `fmix32` finaliser.
 *
 * Why the finaliser: FNV-1a only carries entropy from low bits upwards, so two draws that differ
 * only in the salt word would be almost linearly related. fmix32 gives full avalanche, which makes
 * the per-salt draws (layer, holdout, coverage, variant) behave as independent uniforms (tested).
 *
 * Why the salt comes last, as one word: the FNV state after `seed ␟` is computed once per
 * snapshot, the unit id is hashed once, and each further draw costs one multiply plus fmix32.
 *
 * Versions are frozen: stored assignments depend on them. Add a new version, never edit an old one.
 * Strings are hashed as UTF-16 code units (charCodeAt), like GrowthBook's FNV.
 */
import { assertNever } from '../assert-never.js';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** Second FNV lane (v2) starts from a different offset basis so its state is independent. */
const FNV_OFFSET_B = 0x050c5d1f;
const SEP = 0x1f; // unit separator: keeps "ab"+"c" and "a"+"bc" apart.
const TWO_32 = 4294967296;
const TWO_53 = 9007199254740992;

/** Hash versions that `hashUnit` understands; v1 stays selectable forever. */
const HASH_VERSIONS = [1, 2] as const;
export type HashVersion = (typeof HASH_VERSIONS)[number];

/** Salts of the independent draws made for each unit. */
export const SALT = {
  layer: 'layer',
  holdout: 'holdout',
  coverage: 'coverage',
  variant: 'variant',
} as const;
export type Salt = (typeof SALT)[keyof typeof SALT];

/** Continue an FNV-1a 32-bit state over the UTF-16 code units of `s`. */
export function fnv1aUpdate(state: number, s: string): number {
  let h = state;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}

/** Plain FNV-1a 32-bit of a string (unsigned). */
export function fnv1a32(s: string): number {
  return fnv1aUpdate(FNV_OFFSET, s);
}

/** murmur3 fmix32 finaliser: a bijection on 32-bit ints with full avalanche. */
function fmix32(x: number): number {
  let h = x;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV state after `seed ␟` for one lane; precompute once per snapshot. */
export function seedState(seed: string, lane: 'a' | 'b' = 'a'): number {
  const h = fnv1aUpdate(lane === 'a' ? FNV_OFFSET : FNV_OFFSET_B, seed);
  return Math.imul(h ^ SEP, FNV_PRIME) >>> 0;
}

/** FNV state after `seed ␟ unitId ␟` given a precomputed seed state. */
export function unitState(seedSt: number, unitId: string): number {
  let h = seedSt;
  for (let i = 0; i < unitId.length; i++) h = Math.imul(h ^ unitId.charCodeAt(i), FNV_PRIME);
  return Math.imul(h ^ SEP, FNV_PRIME) >>> 0;
}

/** FNV-1a hashes of the salt names, the word each draw mixes in. */
export const SALT_HASH: Readonly<Record<Salt, number>> = {
  layer: fnv1a32(SALT.layer),
  holdout: fnv1a32(SALT.holdout),
  coverage: fnv1a32(SALT.coverage),
  variant: fnv1a32(SALT.variant),
};

/** v1 draw in [0,1) from a unit state and a salt hash: 32-bit resolution. */
export function drawV1(unitSt: number, saltHash: number): number {
  return fmix32(Math.imul(unitSt ^ saltHash, FNV_PRIME) >>> 0) / TWO_32;
}

/**
 * v2 draw in [0,1) with 53-bit resolution from two FNV lanes: fewer ties between units in very
 * large populations and exact enough for weights below 1e-9. Its top 32 bits equal v1's draw, so
 * moving an experiment from v1 to v2 moves almost no unit.
 */
export function drawV2(unitStA: number, unitStB: number, saltHash: number): number {
  const hi = fmix32(Math.imul(unitStA ^ saltHash, FNV_PRIME) >>> 0);
  const lo = fmix32((Math.imul(unitStB ^ saltHash, FNV_PRIME) ^ 0x9e3779b9) >>> 0);
  return (hi * 2097152 + (lo >>> 11)) / TWO_53;
}

/** Whether `v` is a hash version this build can compute. */
export function isHashVersion(v: number): v is HashVersion {
  return v === 1 || v === 2;
}

/**
 * One uniform draw in [0,1) for (seed, unit, salt) under a hash version. Convenience form of the
 * precomputed hot path used by `assignPrepared`; both give identical numbers.
 */
export function hashUnit(seed: string, unitId: string, salt: string, version: HashVersion = 1): number {
  const sh = fnv1a32(salt);
  switch (version) {
    case 1:
      return drawV1(unitState(seedState(seed), unitId), sh);
    case 2:
      return drawV2(unitState(seedState(seed), unitId), unitState(seedState(seed, 'b'), unitId), sh);
    default:
      return assertNever(version, 'hash version');
  }
}
