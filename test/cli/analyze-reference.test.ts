/**
 * `expflow analyze --method bayesian` against gbstats EffectBayesianABTest on random inputs
 * (scripts/gen_random_decision_fixtures.py → fixtures/stats/random-decision.json, `bayesianAnalyze`),
 * through the CLI's own analyze() and, for one case, the installed binary's JSON (nothing rounded).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { analyze, AnalyzeInputSchema } from '../../cli/analyze.js';
import { loadFixture } from '../domain/stats/helpers.js';

type N = number | null;
interface GbBayes {
  chanceToWin: N;
  ci: [N, N];
  expected: N;
  risk: [N, N];
  error: string | null;
}
interface Case {
  metricType: 'binary' | 'continuous';
  control: { n: number; sum: number; sumSquares?: number };
  treatment: { n: number; sum: number; sumSquares?: number };
  alpha: number;
  direction: 'increase' | 'decrease';
  absolute: GbBayes;
  relative: GbBayes;
}
interface BayesResult {
  ci: [number, number] | null;
  relative: { estimate: number; ci: [number, number] } | null;
  probabilityToBeatControl: number;
  expectedLoss: number;
}

const cases = loadFixture<{ bayesianAnalyze: Case[] }>('random-decision.json').bayesianAnalyze;
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function inputOf(c: Case) {
  return AnalyzeInputSchema.parse({
    metric: { type: c.metricType, direction: c.direction },
    method: 'bayesian',
    alpha: c.alpha,
    control: 'c',
    arms: [
      { key: 'c', ...c.control },
      { key: 't', ...c.treatment },
    ],
  });
}

function resultOf(out: unknown): BayesResult {
  return (out as { results: BayesResult[] }).results[0] as BayesResult;
}

describe('expflow analyze --method bayesian vs gbstats EffectBayesianABTest (flat prior)', () => {
  it('relative credible interval (delta-method posterior, normal quantiles) matches difference_type="relative"', () => {
    const problems: string[] = [];
    for (const c of cases) {
      const ref = c.relative;
      if (ref.error || ref.ci[0] === null || ref.ci[1] === null) continue;
      const label = `${c.metricType} n=${c.control.n}/${c.treatment.n} α=${c.alpha}`;
      const r = resultOf(analyze(inputOf(c)));
      const w = ref.ci[1] - ref.ci[0];
      if (!r.relative) problems.push(`${label}: no relative`);
      else if (!(Math.abs(r.relative.ci[0] - ref.ci[0]) <= 1e-7 * w && Math.abs(r.relative.ci[1] - ref.ci[1]) <= 1e-7 * w)) {
        problems.push(`${label}: relative ci ${r.relative.ci} vs gbstats ${ref.ci}`);
      }
    }
    expect(problems.slice(0, 20), `${problems.length} mismatches`).toEqual([]);
  });

  it('continuous metrics: credible interval, chance to beat control and expected loss match difference_type="absolute"', () => {
    const problems: string[] = [];
    for (const c of cases) {
      const ref = c.absolute;
      if (c.metricType !== 'continuous' || ref.error || ref.ci[0] === null || ref.ci[1] === null || ref.chanceToWin === null || ref.risk[0] === null || ref.risk[1] === null) continue;
      const label = `n=${c.control.n}/${c.treatment.n} α=${c.alpha} ${c.direction}`;
      const r = resultOf(analyze(inputOf(c)));
      const w = ref.ci[1] - ref.ci[0];
      if (!(r.ci && Math.abs(r.ci[0] - ref.ci[0]) <= 1e-7 * w && Math.abs(r.ci[1] - ref.ci[1]) <= 1e-7 * w)) problems.push(`${label}: ci ${r.ci} vs ${ref.ci}`);
      // gbstats' chance to win is P(T > C); lower-is-better reports P(T < C).
      const ctw = c.direction === 'increase' ? ref.chanceToWin : 1 - ref.chanceToWin;
      if (!(Math.abs(r.probabilityToBeatControl - ctw) <= 1e-7)) problems.push(`${label}: P(beat) ${r.probabilityToBeatControl} vs ${ctw}`);
      // gbstats' risk = [loss of keeping control, loss of shipping treatment] for higher-is-better.
      const loss = c.direction === 'increase' ? ref.risk[1] : ref.risk[0];
      if (!(Math.abs(r.expectedLoss - loss) <= 1e-7 * Math.max(w, Math.abs(loss)))) problems.push(`${label}: expected loss ${r.expectedLoss} vs ${loss}`);
    }
    expect(problems.slice(0, 20), `${problems.length} mismatches`).toEqual([]);
  });

  it('the binary prints exactly what analyze() returns (no rounding, same labels)', () => {
    const c = cases.find((x) => x.metricType === 'continuous' && !x.relative.error);
    if (!c) throw new Error('fixture has no continuous case');
    const dir = mkdtempSync(join(tmpdir(), 'expflow-analyze-ref-'));
    const file = join(dir, 'input.json');
    writeFileSync(file, JSON.stringify({ metric: { type: c.metricType, direction: c.direction }, method: 'bayesian', alpha: c.alpha, control: 'c', arms: [{ key: 'c', ...c.control }, { key: 't', ...c.treatment }] }));
    const run = spawnSync(process.execPath, [join(root, 'bin', 'expflow.js'), 'analyze', '--input', file], { cwd: root, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(JSON.parse(JSON.stringify(analyze(inputOf(c)))));
  });
});
