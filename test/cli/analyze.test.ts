import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compareProportions, sequentialEffect } from '../../domain/stats/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'expflow-analyze-'));

function run(input: unknown, ...args: string[]) {
  const file = join(dir, `in-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, typeof input === 'string' ? input : JSON.stringify(input));
  const r = spawnSync(process.execPath, [join(root, 'bin', 'expflow.js'), 'analyze', '--input', file, ...args], { cwd: root, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const binary = {
  metric: { type: 'binary' },
  alpha: 0.05,
  control: 'A',
  arms: [
    { key: 'A', n: 10000, sum: 1000 },
    { key: 'B', n: 10050, sum: 1100 },
    { key: 'C', n: 9950, sum: 980 },
  ],
  periods: [
    { weights: [0.34, 0.33, 0.33], n: 15000 },
    { weights: [0.3, 0.4, 0.3], n: 15000 },
  ],
};

describe('expflow analyze', () => {
  it('frequentist: one result per non-control arm, matching the domain functions, plus SRM', () => {
    const r = run(binary);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.results.map((x: { arm: string }) => x.arm)).toEqual(['B', 'C']);
    const want = compareProportions({ n: 10000, successes: 1000 }, { n: 10050, successes: 1100 });
    expect(out.results[0].pValue).toBeCloseTo(want.pValue, 12);
    expect(out.results[0].ci).toEqual(want.ci);
    expect(out.results[0].relative.ci).toHaveLength(2);
    expect(out.srm.expected[1]).toBeCloseTo(10950 * (30000 / 30000), 6);
    expect(out.srm.observed).toEqual([10000, 10050, 9950]);
    expect(typeof out.srm.pValue).toBe('number');
  });

  it('bayesian and sequential methods add their fields; --alpha overrides the file', () => {
    const b = JSON.parse(run(binary, '--method', 'bayesian').stdout);
    const res = b.results[0];
    expect(res.probabilityToBeatControl).toBeGreaterThan(0.9);
    expect(res.probabilityBest).toBeGreaterThan(0.9);
    expect(res.expectedLoss).toBeGreaterThanOrEqual(0);
    const s = JSON.parse(run(binary, '--method', 'sequential', '--alpha', '0.1').stdout);
    const want = sequentialEffect(compareProportions({ n: 10000, successes: 1000 }, { n: 10050, successes: 1100 }, 0.1), 20050, 0.1);
    expect(s.alpha).toBe(0.1);
    expect(s.results[0].alwaysValid).toBe(true);
    expect(s.results[0].pValue).toBeCloseTo(want.pValue, 12);
    expect(s.results[0].ci[0]).toBeCloseTo(want.ci![0], 12);
  });

  it('continuous metric with a degenerate arm prints NaN-free JSON with a reason', () => {
    const r = run({ metric: { type: 'continuous' }, control: 'A', arms: [{ key: 'A', n: 100, sum: 500, sumSquares: 2600 }, { key: 'B', n: 0, sum: 0, sumSquares: 0 }] });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/NaN|Infinity/);
    expect(JSON.parse(r.stdout).results[0].reason).toBe('empty-arm');
  });

  it('bad input: names the field on stderr and exits 2', () => {
    const bad = run({ ...binary, control: 'Z', arms: [{ key: 'A', n: -5, sum: 1 }, { key: 'B', n: 10, sum: 20 }] });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/arms\.0\.n/);
    expect(bad.stderr).toMatch(/control/);
    expect(bad.stderr).toMatch(/arms\.1\.sum/);
    const notJson = run('{ nope');
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/cannot read JSON/);
    const badMethod = run(binary, '--method', 'magic');
    expect(badMethod.code).toBe(2);
    expect(badMethod.stderr).toMatch(/method/);
  });
});
