/**
 * Simulation check of the always-valid sequential test (`npm run bench:sequential`).
 * A/A: ≥2,000 experiments with a look every cycle (100 looks) — the always-valid false-positive rate
 * must stay ≤ α + 3·SE, while the naive fixed-horizon z-test applied at every look inflates it.
 * A/B at the MDE and at 2×MDE: power and median stopping sample vs a fixed-horizon test planned for
 * that effect. Per-look data are Bernoulli draws summed into sufficient statistics.
 */
import { createRng, type Rng } from '../domain/rng.js';
import {
  compareProportions,
  minimumDetectableEffectProportions,
  sampleSizeTwoProportions,
  sequentialEffect,
} from '../domain/stats/index.js';

const ALPHA = 0.05;
const BASE_RATE = 0.1;
const LOOKS = 100;
const PER_LOOK = 200; // units per arm per look → 20,000 per arm at the last look
const AA_RUNS = 5000;
const AB_RUNS = 2000;
const TUNING_N = 10_000; // N*: total units at which the CS is tightest (≈ a quarter of the horizon)

function binomial(rng: Rng, n: number, p: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) if (rng() < p) s++;
  return s;
}

interface RunResult {
  /** First look (1-based) at which the always-valid p < α, or null. */
  seqStop: number | null;
  /** Any look at which the naive z-test p < α. */
  naiveEver: boolean;
  /** Naive z-test significant at a given planned look. */
  fixedAt: (look: number) => boolean;
}

function simulate(rng: Rng, lift: number, fixedLook: number): RunResult {
  let c = 0;
  let t = 0;
  let seqStop: number | null = null;
  let naiveEver = false;
  let fixedSig = false;
  for (let look = 1; look <= LOOKS; look++) {
    c += binomial(rng, PER_LOOK, BASE_RATE);
    t += binomial(rng, PER_LOOK, BASE_RATE + lift);
    const n = look * PER_LOOK;
    const fixed = compareProportions({ n, successes: c }, { n, successes: t }, ALPHA);
    if (fixed.pValue < ALPHA) naiveEver = true;
    if (look === fixedLook) fixedSig = fixed.pValue < ALPHA;
    if (seqStop === null && sequentialEffect(fixed, 2 * n, ALPHA, TUNING_N).pValue < ALPHA) seqStop = look;
  }
  return { seqStop, naiveEver, fixedAt: () => fixedSig };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  const upper = s[m];
  const lower = s[m - 1];
  if (upper === undefined) return NaN; // no runs: no median
  return s.length % 2 || lower === undefined ? upper : (lower + upper) / 2;
}

const started = performance.now();
const rng = createRng('bench-sequential');

// ---- A/A ----
let seqFp = 0;
let naiveFp = 0;
for (let r = 0; r < AA_RUNS; r++) {
  const res = simulate(rng, 0, LOOKS);
  if (res.seqStop !== null) seqFp++;
  if (res.naiveEver) naiveFp++;
}
const seqFpr = seqFp / AA_RUNS;
const naiveFpr = naiveFp / AA_RUNS;
const se = Math.sqrt((ALPHA * (1 - ALPHA)) / AA_RUNS);
const bound = ALPHA + 3 * se;

// ---- A/B at MDE and 2×MDE ----
const horizonN = LOOKS * PER_LOOK;
const mde = minimumDetectableEffectProportions({ pControl: BASE_RATE, nTreatment: horizonN, alpha: ALPHA, power: 0.8 }).mde;
const scenarios = [
  { name: 'MDE', lift: mde },
  { name: '2xMDE', lift: 2 * mde },
].map(({ name, lift }) => {
  const plannedN = Math.ceil(sampleSizeTwoProportions({ pControl: BASE_RATE, pTreatment: BASE_RATE + lift, alpha: ALPHA, power: 0.8 }));
  const fixedLook = Math.min(LOOKS, Math.ceil(plannedN / PER_LOOK));
  let seqPower = 0;
  let fixedPower = 0;
  const stops: number[] = [];
  const stopsWhenRejected: number[] = [];
  for (let r = 0; r < AB_RUNS; r++) {
    const res = simulate(rng, lift, fixedLook);
    if (res.seqStop !== null) seqPower++;
    if (res.fixedAt(fixedLook)) fixedPower++;
    stops.push((res.seqStop ?? LOOKS) * PER_LOOK);
    if (res.seqStop !== null) stopsWhenRejected.push(res.seqStop * PER_LOOK);
  }
  return {
    name,
    lift,
    sequentialPower: seqPower / AB_RUNS,
    // Runs that never reject count as stopping at the horizon.
    sequentialMedianStopPerArm: median(stops),
    sequentialMedianStopWhenRejectedPerArm: stopsWhenRejected.length ? median(stopsWhenRejected) : null,
    fixedHorizonPlannedPerArm: fixedLook * PER_LOOK,
    fixedHorizonPower: fixedPower / AB_RUNS,
  };
});

const seconds = (performance.now() - started) / 1000;
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
console.log(`Sequential A/A and A/B simulation: base rate ${BASE_RATE}, α=${ALPHA}, ${LOOKS} looks × ${PER_LOOK} units/arm, N*=${TUNING_N}`);
console.log('');
console.log('A/A (%d runs)                         FPR       bound α+3SE', AA_RUNS);
console.log(`  always-valid CS (any look)          ${pct(seqFpr).padEnd(9)} ${pct(bound)}  ${seqFpr <= bound ? 'OK' : 'FAIL'}`);
console.log(`  naive z-test at every look          ${pct(naiveFpr).padEnd(9)}`);
console.log('');
console.log(`A/B (${AB_RUNS} runs each)   lift      seq power  seq median stop/arm (if rejected)  fixed n/arm  fixed power`);
for (const s of scenarios) {
  console.log(
    `  ${s.name.padEnd(20)} ${s.lift.toFixed(5)}   ${pct(s.sequentialPower).padEnd(9)}  ${`${s.sequentialMedianStopPerArm} (${s.sequentialMedianStopWhenRejectedPerArm ?? '-'})`.padEnd(33)}  ${String(s.fixedHorizonPlannedPerArm).padEnd(11)}  ${pct(s.fixedHorizonPower)}`,
  );
}
console.log('');
console.log(`elapsed ${seconds.toFixed(1)} s`);
console.log(
  JSON.stringify({
    alpha: ALPHA,
    looks: LOOKS,
    perLookPerArm: PER_LOOK,
    tuningN: TUNING_N,
    aa: { runs: AA_RUNS, alwaysValidFpr: seqFpr, naiveFpr, bound, pass: seqFpr <= bound },
    ab: scenarios,
    seconds: Number(seconds.toFixed(1)),
  }),
);
if (seqFpr > bound) process.exitCode = 1;
