/**
 * Deterministic unit hashing for assignment. Every draw is FNV-1a (32-bit, Math.imul) over
 * `seed ␟ unitId ␟ salt` followed by the murmur3 `fmix32` finaliser.
 *
 * Why the finaliser: FNV-1a only carries entropy from low bits upwards, so two draws that differ
 * only in a short salt suffix would be almost linearly related. fmix32 gives full avalanche, which
 * makes the per-salt draws (layer, holdout, coverage, variant) behave as independent uniforms.
 *
 * Why the salt is a suffix: the FNV state after `seed ␟` is computed once per snapshot, the unit id is
 * hashed once, and each salt costs only a few multiplies on top of that.
 *
 * Versions are frozen: stored assignments depend on them. Add a new version, never edit an old one.
 * Strings are hashed as UTF-16 code units (charCodeAt), like GrowthBook's FNV.
 */

export const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** Second FNV lane (v2) starts from a different offset basis so its state is independent. */
const FNV_OFFSET_B = 0x050c5d1f;
const SEP = 0x1f; // unit separator: keeps "ab"+"c" and "a"+"bc" apart.
const TWO_32 = 4294967296;
const TWO_53 = 9007199254740992;

/** Hash versions that `hashUnit` understands; v1 stays selectable forever. */
export const HASH_VERSIONS = [1, 2] as const;
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
export function fmix32(x: number): number {
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

/** v1 draw in [0,1) from a unit state and a salt: 32-bit resolution. */
export function drawV1(unitSt: number, salt: string): number {
  let h = unitSt;
  for (let i = 0; i < salt.length; i++) h = Math.imul(h ^ salt.charCodeAt(i), FNV_PRIME);
  return fmix32(h >>> 0) / TWO_32;
}

/**
 * v2 draw in [0,1) with 53-bit resolution from two FNV lanes: fewer ties between units in very
 * large populations and exact enough for weights below 1e-9.
 */
export function drawV2(unitStA: number, unitStB: number, salt: string): number {
  let a = unitStA;
  let b = unitStB;
  for (let i = 0; i < salt.length; i++) {
    const c = salt.charCodeAt(i);
    a = Math.imul(a ^ c, FNV_PRIME);
    b = Math.imul(b ^ c, FNV_PRIME);
  }
  const hi = fmix32(a >>> 0);
  const lo = fmix32((b ^ 0x9e3779b9) >>> 0);
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
  switch (version) {
    case 1:
      return drawV1(unitState(seedState(seed), unitId), salt);
    case 2:
      return drawV2(unitState(seedState(seed), unitId), unitState(seedState(seed, 'b'), unitId), salt);
    default:
      return assertNeverVersion(version);
  }
}

function assertNeverVersion(v: never): never {
  throw new RangeError(`unknown hash version ${String(v)}`);
}
