/**
 * Stratified randomisation by permuted blocks. The API INCRs one Redis counter per
 * experiment × segment × stratum × weights; the counter value picks a position in a seeded random
 * permutation of a block that holds each arm exactly weight × blockSize times. So within every
 * stratum the arms are balanced at the end of each block and never off by more than one block.
 */
import { createRng } from '../rng.js';
import type { Weights } from '../types.js';
import type { AssignContext } from './targeting.js';
import { at } from '../at.js';
import { fnv1a32 } from './hash.js';

/** Largest block considered; weights that need a bigger block are rounded to 1/MAX_BLOCK_SIZE. */
const MAX_BLOCK_SIZE = 100;
const EPS = 1e-9;

/** Key of the unit's stratum, e.g. `country=US|device=ios`; strata should be categorical. */
export function stratumKey(context: AssignContext, strata: readonly string[]): string {
  let key = '';
  for (const [i, name] of strata.entries()) {
    const v = context[name];
    key += (i ? '|' : '') + name + '=' + (v === undefined || v === null ? '~' : String(v));
  }
  return key;
}

/** Arms of a block in a canonical (sorted) order with their integer counts. */
export interface BlockLayout {
  size: number;
  arms: string[];
  counts: number[];
}

/**
 * Smallest block size whose arm counts weight × size are all integers (e.g. 1/3,1/3,1/3 → 3;
 * 0.2,0.8 → 5). If none up to MAX_BLOCK_SIZE exists, counts are rounded to MAX_BLOCK_SIZE by largest
 * remainder, so the block realises the weights to within 1/MAX_BLOCK_SIZE.
 */
export function blockLayout(weights: Weights): BlockLayout {
  const positive = Object.entries(weights)
    .filter(([, x]) => x > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (positive.length === 0) throw new RangeError('blockLayout: no arm has positive weight');
  const arms = positive.map(([k]) => k);
  const total = positive.reduce((s, [, x]) => s + x, 0);
  const w = positive.map(([, x]) => x / total);
  for (let size = 1; size <= MAX_BLOCK_SIZE; size++) {
    const counts = w.map((x) => x * size);
    if (counts.every((c) => Math.abs(c - Math.round(c)) < EPS * size && Math.round(c) >= 1)) {
      return { size, arms, counts: counts.map(Math.round) };
    }
  }
  const raw = w.map((x) => x * MAX_BLOCK_SIZE);
  const floors = raw.map(Math.floor);
  const left = MAX_BLOCK_SIZE - floors.reduce((a, b) => a + b, 0);
  // Largest remainder: the `left` units go one each to the arms with the largest fractional parts
  // (round-robin if rounding ever left more units than arms).
  const byRemainder = raw.map((r, i) => [r - Math.floor(r), i] as const).sort((a, b) => b[0] - a[0]).map(([, i]) => i);
  const extra = (i: number): number => Math.floor(left / arms.length) + (byRemainder.indexOf(i) < left % arms.length ? 1 : 0);
  const counts = floors.map((f, i) => f + extra(i));
  return { size: MAX_BLOCK_SIZE, arms, counts };
}

/**
 * Arm for the `counter`-th unit (1-based, as Redis INCR returns) of a stratum: position
 * (counter−1) mod size of block ⌊(counter−1)/size⌋, each block shuffled by Fisher–Yates with an rng
 * seeded by `blockSeed` and the block index.
 */
export function pickFromBlock(counter: number, weights: Weights, blockSeed: string): string {
  if (!Number.isInteger(counter) || counter < 1) throw new RangeError(`counter must be an integer ≥ 1, got ${counter}`);
  const layout = blockLayout(weights);
  const idx = counter - 1;
  const block = Math.floor(idx / layout.size);
  const pos = idx - block * layout.size;
  const cells: string[] = [];
  layout.arms.forEach((arm, a) => {
    for (let c = 0; c < at(layout.counts, a, 'block counts'); c++) cells.push(arm);
  });
  const rng = createRng(`${blockSeed}#${block}`);
  for (let i = cells.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = at(cells, i, 'block');
    cells[i] = at(cells, j, 'block');
    cells[j] = t;
  }
  // The counts sum to the block size, so pos (< size) is always a cell.
  return at(cells, pos, 'block');
}

/**
 * Redis counter key for a stratum. It carries a tag of the weights, not the snapshot version, so
 * a new snapshot with the same weights keeps filling the current block, and new weights start
 * fresh blocks.
 */
export function blockCounterKey(experimentKey: string, segment: number, stratum: string, weights: Weights): string {
  const canon = Object.keys(weights)
    .sort()
    .map((k) => `${k}:${weights[k]}`)
    .join(',');
  return `${experimentKey}:seg${segment}:w${fnv1a32(canon).toString(36)}:${stratum}`;
}
