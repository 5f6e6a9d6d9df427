/**
 * IPS, SNIPS and DR on random logged data (scripts/gen_ope_fixtures.py → fixtures/ope/obp-random.json):
 * 1..~1000 rounds, 2..12 actions, propensities down to 1e-6 and exactly 1, binary/continuous/zero
 * rewards, deterministic and stochastic targets, targets that never play a logged action. Point
 * estimates must match Open Bandit Pipeline; everything reported must be finite.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { estimatePolicyValue } from '../../../domain/evaluation/ope.js';

interface RandomCase {
  nActions: number;
  action: number[];
  pscore: number[];
  reward: number[];
  targetDist: number[][];
  estimatedRewards: number[][];
  obp: { ips: number; snips: number | null; dr: number };
}
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/ope/obp-random.json', import.meta.url), 'utf8')) as { cases: RandomCase[] };

describe('OPE estimators vs Open Bandit Pipeline on random logged data', () => {
  it(`${fixture.cases.length} random datasets: IPS, SNIPS, DR match obp; intervals, ESS and warnings are finite`, () => {
    const problems: string[] = [];
    fixture.cases.forEach((c, idx) => {
      const rounds = c.action.map((a, i) => ({ action: a, propensity: c.pscore[i] ?? NaN, reward: c.reward[i] ?? NaN }));
      const { estimates, warnings } = estimatePolicyValue({ rounds, nActions: c.nActions, target: c.targetDist, estimatedRewards: c.estimatedRewards });
      const label = `case ${idx} n=${rounds.length} k=${c.nActions}`;
      for (const e of estimates) {
        const ref = c.obp[e.estimator];
        const scale = Math.max(1, Math.abs(ref ?? 0));
        if (ref === null) {
          // obp: 0/0 when no round has weight; the engine reports 0 ± 0 rather than NaN.
          if (e.value !== 0) problems.push(`${label} ${e.estimator}: ${e.value} where obp is undefined`);
        } else if (!(Math.abs(e.value - ref) <= 1e-9 * scale)) problems.push(`${label} ${e.estimator}: ${e.value} vs obp ${ref}`);
        for (const v of [e.standardError, e.ci[0], e.ci[1], e.effectiveSampleSize]) if (!Number.isFinite(v)) problems.push(`${label} ${e.estimator}: non-finite ${v}`);
        if (!(e.ci[0] <= e.value && e.value <= e.ci[1])) problems.push(`${label} ${e.estimator}: value outside its interval`);
      }
      for (const w of warnings) for (const v of Object.values(w)) if (typeof v === 'number' && !Number.isFinite(v)) problems.push(`${label} warning ${w.kind}: ${v}`);
    });
    expect(problems.slice(0, 30), `${problems.length} problems`).toEqual([]);
  });
});
