/**
 * Traffic across segments: a segment's coverage (fraction of its eligible new units enrolled) is
 * inversely proportional to its predicted time to significance, so traffic goes where it buys a
 * decision soonest. The fastest segment gets 1; the rest get T_fastest / T_i, bounded below by
 * `minCoverage` so no segment starves (its prediction could be wrong, and it must keep learning).
 */

/** Predicted cycles to significance at full coverage; null or non-finite = unknown/never. */
export interface CoverageCandidate {
  id: number;
  predictedCycles: number | null;
}

/** Coverage ∝ 1/predicted time, scaled so the fastest candidate has 1, bounded to [minCoverage, 1]. */
export function computeCoverage(candidates: CoverageCandidate[], minCoverage: number): Map<number, number> {
  const floor = Math.min(1, Math.max(0, minCoverage));
  // A segment predicted to finish this cycle must not drive everyone else's coverage to 0.
  const times = candidates.map((c) => (c.predictedCycles !== null && Number.isFinite(c.predictedCycles) ? Math.max(c.predictedCycles, 1) : null));
  const known = times.filter((t): t is number => t !== null);
  const fastest = known.length ? Math.min(...known) : null;
  const out = new Map<number, number>();
  candidates.forEach((c, i) => {
    const t = times[i];
    const raw = t === null || t === undefined || fastest === null ? floor : fastest / t;
    out.set(c.id, Math.min(1, Math.max(floor, raw)));
  });
  return out;
}
