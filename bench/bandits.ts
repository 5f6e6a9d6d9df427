/**
 * Bandit policy benchmark (issue #4 proof), built on the pure simulator in domain/allocation.
 *
 * Scenario 1: 10 Bernoulli arms (best 0.5, nine at 0.4), horizon 1e5, batch sizes δ = 1 and 1000.
 *   δ = 1: Thompson draws one posterior sample per arm per unit (exactly Thompson sampling);
 *   UCB1 and ε-greedy recompute their weights after every unit. δ = 1000: every policy recomputes
 *   its weights once per batch (Thompson: the exact P(best) of the posteriors). No floor, no step limit,
 *   minUnitsPerArm = 1 so no policy is held back by the minimum-data rule.
 *   Checks: Thompson regret ≤ UCB1 and ≤ ε-greedy at each δ; batched Thompson ≤ 1.2 × unbatched.
 * Scenario 2: control vs treatment in two equal contexts; treatment −0.04 in one, +0.08 in the
 *   other (so it wins on average). Risk-adjusted contextual controller vs context-free Thompson,
 *   both with a 5% floor. Checks: contextual harm ≤ 0.5 × Thompson's, same final decision at least
 *   as often correct.
 *
 * BENCH_RUNS overrides the run count of scenario 1 (default 100); prints a table and a JSON line.
 */
import { POLICY_COLUMNS, alignColumns, policyCells } from '../domain/allocation/simulate-report.js';
import { type PolicySummary, type ScenarioInput, parseScenario, simulateScenario } from '../domain/allocation/index.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 100);
const CTX_RUNS = Number(process.env.BENCH_CTX_RUNS ?? 20);

function run(input: ScenarioInput) {
  const parsed = parseScenario(input);
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  const t0 = performance.now();
  let last = t0;
  const result = simulateScenario(parsed.scenario, {
    onRun: (label, r) => {
      if (performance.now() - last > 5000) {
        last = performance.now();
        process.stderr.write(`  ${input.name} ${label}: run ${r + 1}/${parsed.scenario.runs}\n`);
      }
    },
  });
  return { ...result, seconds: (performance.now() - t0) / 1000 };
}

const tenArms = Array.from({ length: 10 }, (_, i) => ({ key: `arm${i}`, mean: i === 0 ? 0.5 : 0.4 }));
const scenario1 = (batchSize: number): ScenarioInput => ({
  name: `ten-arms-d${batchSize}`,
  seed: 2024,
  outcome: 'bernoulli',
  horizon: 100_000,
  batchSize,
  runs: RUNS,
  arms: tenArms,
  bounds: { floor: 0, max: 1, maxChange: 1, minUnitsPerArm: 1 },
  policies: [{ kind: 'thompson' }, { kind: 'ucb1' }, { kind: 'epsilon_greedy', epsilon: 0.1 }],
});

const scenario2: ScenarioInput = {
  name: 'contextual-harm',
  seed: 99,
  outcome: 'bernoulli',
  horizon: 30_000,
  batchSize: 1000,
  runs: CTX_RUNS,
  arms: [
    { key: 'control', mean: 0.1, control: true },
    { key: 'treatment', mean: 0.1 },
  ],
  segments: [
    { name: 'harmed', share: 0.5, effects: { treatment: -0.04 } },
    { name: 'helped', share: 0.5, effects: { treatment: 0.08 } },
  ],
  bounds: { floor: 0.05 },
  policies: [
    { kind: 'thompson', label: 'thompson (context-free)' },
    {
      kind: 'contextual',
      label: 'risk-adjusted contextual',
      baseline: 0.5,
      adjustment: { down: 0.45, up: 0.45 },
      riskTolerance: 0.01,
      floor: 0.05,
      maxRows: 2000,
    },
  ],
};

const d1 = run(scenario1(1));
const d1000 = run(scenario1(1000));
const ctx = run(scenario2);

const by = (ps: PolicySummary[], kind: string) => ps.find((p) => p.kind === kind)!;
const ts1 = by(d1.policies, 'thompson');
const ts1000 = by(d1000.policies, 'thompson');
const checks = {
  thompsonBeatsUcb1AtD1: ts1.regretMean <= by(d1.policies, 'ucb1').regretMean,
  thompsonBeatsEpsilonAtD1: ts1.regretMean <= by(d1.policies, 'epsilon_greedy').regretMean,
  thompsonBeatsUcb1AtD1000: ts1000.regretMean <= by(d1000.policies, 'ucb1').regretMean,
  thompsonBeatsEpsilonAtD1000: ts1000.regretMean <= by(d1000.policies, 'epsilon_greedy').regretMean,
  batchedThompsonWithin1_2x: ts1000.regretMean <= 1.2 * ts1.regretMean,
  contextualHarmAtMostHalf: by(ctx.policies, 'contextual').harmMean <= 0.5 * by(ctx.policies, 'thompson').harmMean,
  contextualDecisionAsCorrect:
    by(ctx.policies, 'contextual').correctRate >= by(ctx.policies, 'thompson').correctRate &&
    by(ctx.policies, 'contextual').decision === by(ctx.policies, 'thompson').decision,
};

const rows: string[][] = [];
for (const r of [d1, d1000, ctx]) for (const p of r.policies) rows.push([r.scenario, String(r.batchSize), ...policyCells(p)]);
for (const l of alignColumns(['scenario', 'δ', ...POLICY_COLUMNS], rows)) console.log(l);
console.log(
  `\nbatched/unbatched Thompson regret = ${(ts1000.regretMean / ts1.regretMean).toFixed(3)} (goal ≤ 1.2); ` +
    `contextual/Thompson harm = ${(by(ctx.policies, 'contextual').harmMean / by(ctx.policies, 'thompson').harmMean).toFixed(3)} (goal ≤ 0.5)`,
);
console.log(`runtime: δ=1 ${d1.seconds.toFixed(0)} s, δ=1000 ${d1000.seconds.toFixed(0)} s, contextual ${ctx.seconds.toFixed(0)} s`);
for (const [k, v] of Object.entries(checks)) console.log(`${v ? 'PASS' : 'FAIL'} ${k}`);
const summary = (p: PolicySummary) => ({
  label: p.label,
  runs: p.runs,
  regret: +p.regretMean.toFixed(1),
  regretSd: +p.regretSd.toFixed(1),
  bestArmShare: +p.bestArmShare.toFixed(4),
  harm: +p.harmMean.toFixed(1),
  decision: p.decision,
  correctRate: p.correctRate,
});
console.log(
  JSON.stringify({
    bench: 'bandits',
    scenario1: { d1: d1.policies.map(summary), d1000: d1000.policies.map(summary) },
    scenario2: ctx.policies.map(summary),
    ratios: {
      batchedOverUnbatchedThompson: +(ts1000.regretMean / ts1.regretMean).toFixed(3),
      contextualOverThompsonHarm: +(by(ctx.policies, 'contextual').harmMean / by(ctx.policies, 'thompson').harmMean).toFixed(3),
    },
    checks,
    seconds: { d1: +d1.seconds.toFixed(1), d1000: +d1000.seconds.toFixed(1), contextual: +ctx.seconds.toFixed(1) },
  }),
);
if (!Object.values(checks).every(Boolean)) process.exitCode = 1;
