import { at } from '../at.js';

/** Squared Euclidean distance between two points of equal dimension. */
export function squaredDistance(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new RangeError(`squaredDistance: points of dimension ${a.length} and ${b.length}`);
  let s = 0;
  for (let j = 0; j < a.length; j++) {
    const d = at(a, j, 'point') - at(b, j, 'point');
    s += d * d;
  }
  return s;
}
