/**
 * xs[i] for parallel arrays whose lengths the caller guarantees (a grid and its weights, results
 * and their adjusted p-values). An index outside the array is a bug in that guarantee, so it throws
 * a RangeError naming the array instead of letting `undefined` turn into NaN downstream.
 */
export function at<T>(xs: ArrayLike<T>, i: number, what = 'array'): T {
  if (!(Number.isInteger(i) && i >= 0 && i < xs.length)) {
    throw new RangeError(`${what}[${i}] is out of range (length ${xs.length})`);
  }
  return xs[i] as T;
}

/** record[key] for keys the caller guarantees (a map built over the same list of keys); a missing key throws naming the record. */
export function atKey<T>(record: Readonly<Record<string, T>>, key: string, what = 'record'): T {
  if (!Object.hasOwn(record, key)) throw new RangeError(`${what} has no '${key}'`);
  return record[key] as T;
}
