/**
 * Generates the cold-start time-to-significance model: simulates many two-arm segments (binomial
 * sufficient statistics per cycle), runs the always-valid test at every cycle, turns each history
 * into rows (features at a cycle → log samples still needed), trains the regression tree and
 * writes domain/prediction/cold-start-model.json. Deterministic for a seed.
 *
 * The simulated population (drawSegmentSpec) is weighted towards segment-level reality: low
 * baselines, small relative effects and many null segments, with varying horizons; right-censored
 * segments are labelled with the samples to their horizon (a lower bound), as history rows are.
 *
 *   npx tsx scripts/train-ttsig-model.ts [--seed 7] [--experiments 4000] [--out path]
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRng } from '../domain/rng.js';
import { scorePredictions } from '../domain/prediction/calibration.js';
import { drawSegmentSpec, simulateTrajectory, trajectoriesToRows } from '../domain/prediction/simulate-history.js';
import { trainSignificanceTree, walkTree, TTSIG_COLD_START_TEST } from '../domain/prediction/index.js';
import { mixtureSequentialInterval } from '../domain/segment-rules/always-valid.js';

const args = new Map<string, string>();
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const [flag, value] = [argv[i], argv[i + 1]];
  if (flag === undefined || value === undefined) throw new Error(`${flag ?? 'argument'} needs a value`);
  args.set(flag.replace(/^--/, ''), value);
}
const seed = Number(args.get('seed') ?? 7);
const experiments = Number(args.get('experiments') ?? 4000);
const out = args.get('out') ?? fileURLToPath(new URL('../domain/prediction/cold-start-model.json', import.meta.url));

const { alpha, tauRelative, rowsPerExperiment, maxRows } = TTSIG_COLD_START_TEST;
const rng = createRng(seed);
const trajectories = Array.from({ length: experiments }, () => {
  const spec = drawSegmentSpec(rng);
  const tau = tauRelative * spec.baselineRate;
  return simulateTrajectory(rng, spec, (c, t) => {
    const iv = mixtureSequentialInterval(c, t, alpha, tau);
    return iv.lower > 0 || iv.upper < 0;
  });
});

// One row per experiment (TTSIG_COLD_START_TEST.rowsPerExperiment), not all: rows from one trajectory are strongly correlated, and the
// tree's cost grows with rows², so breadth over experiments buys more than depth within one.
const rows = trajectories.flatMap((t) => {
  const all = trajectoriesToRows([t]);
  const picked: typeof all = [];
  for (let i = 0; i < rowsPerExperiment && all.length; i++) picked.push(...all.splice(Math.floor(rng() * all.length), 1));
  return picked;
});
const train = rows.slice(0, maxRows);
const test = rows.slice(maxRows);
const started = performance.now();
const model = trainSignificanceTree(train, { seed, maxRows });
const trainMs = performance.now() - started;
writeFileSync(out, JSON.stringify(model) + '\n');

const crossed = trajectories.filter((t) => t.crossedAtSamples !== null).length;
const score = test.length
  ? scorePredictions(
      test.map((r) => Math.expm1(walkTree(model.tree, r.features).value)),
      test.map((r) => Math.expm1(r.logSamples)),
    )
  : null;
console.log(
  JSON.stringify({
    out,
    experiments,
    crossed,
    rows: rows.length,
    trainedRows: model.trainedRows,
    holdoutRows: model.holdoutRows,
    leaves: Object.keys(model.leafResiduals).length,
    trainMs: Math.round(trainMs),
    heldOutScore: score,
  }),
);
