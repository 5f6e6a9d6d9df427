import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'expflow-simulate-'));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'expflow.js'), 'simulate', ...args], { cwd: root, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function scenarioFile(name: string, body: unknown): string {
  const f = join(dir, name);
  writeFileSync(f, typeof body === 'string' ? body : JSON.stringify(body));
  return f;
}

const valid = {
  name: 'cli-test',
  outcome: 'bernoulli',
  horizon: 4000,
  batchSize: 500,
  runs: 2,
  arms: [
    { key: 'control', mean: 0.3, control: true },
    { key: 'b', mean: 0.45 },
  ],
  bounds: { minUnitsPerArm: 10 },
  policies: [{ kind: 'fixed' }, { kind: 'thompson' }],
};

describe('expflow simulate', () => {
  it('prints a table and a final JSON line with regret, best-arm share and decision', () => {
    const r = run(['--scenario', scenarioFile('ok.json', valid)]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/policy\s+runs\s+regret/);
    const lines = r.stdout.trim().split('\n');
    const out = JSON.parse(lines[lines.length - 1]!);
    expect(out.bestArm).toBe('b');
    expect(out.policies.map((p: { label: string }) => p.label)).toEqual(['fixed', 'thompson']);
    const [fixed, thompson] = out.policies;
    // Fixed 50/50 loses 0.15 on half the units: regret ≈ 0.075 × 4000.
    expect(fixed.regretMean).toBeGreaterThan(270);
    expect(fixed.regretMean).toBeLessThan(330);
    expect(thompson.regretMean).toBeLessThan(fixed.regretMean);
    expect(thompson.bestArmShare).toBeGreaterThan(0.7);
    expect(thompson.decision).toBe('b');
  }, 30_000);

  it('--json prints only the JSON, and --runs overrides the scenario', () => {
    const r = run(['--scenario', scenarioFile('ok2.json', valid), '--json', '--runs', '1']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.policies[0].runs).toBe(1);
  }, 30_000);

  it.each<[string, unknown, RegExp]>([
    ['a bernoulli mean outside [0,1]', { ...valid, arms: [{ key: 'a', mean: 0.3 }, { key: 'b', mean: 1.5 }] }, /arms\[1\]\.mean: bernoulli mean must be in \[0,1\]/],
    ['a missing horizon', { ...valid, horizon: undefined }, /horizon/],
    ['an unknown policy kind', { ...valid, policies: [{ kind: 'magic' }] }, /policies\[0\]\.kind/],
    ['an effect on an unknown arm', { ...valid, segments: [{ name: 's', share: 1, effects: { zz: 0.1 } }] }, /segments\[0\]\.effects\.zz: unknown arm 'zz'/],
    ['a batch larger than the horizon', { ...valid, batchSize: 10_000 }, /batchSize: batchSize must not exceed horizon/],
    ['malformed JSON', '{ not json', /cannot read scenario/],
  ])('exits 2 naming the field for %s', (name, body, msg) => {
    const r = run(['--scenario', scenarioFile(`bad-${name.replace(/\W+/g, '-')}.json`, body)]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(msg);
  }, 30_000);

  it('exits 2 without --scenario', () => {
    const r = run([]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--scenario/);
  }, 30_000);
});
