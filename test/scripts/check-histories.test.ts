/**
 * scripts/check-histories.sh on a clone of this repository: it passes on the committed histories,
 * fails on an edited or deleted one, and accepts a change only with a History-Version marker commit.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let clone = '';
const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: clone, encoding: 'utf8' });
const check = () => spawnSync('bash', ['scripts/check-histories.sh'], { cwd: clone, encoding: 'utf8' });

beforeAll(() => {
  clone = mkdtempSync(join(tmpdir(), 'histories-'));
  execFileSync('git', ['clone', '-q', '--no-checkout', process.cwd(), clone]);
  // The clone's HEAD is this checkout's commit; the working tree's script (possibly uncommitted) is used.
  git('checkout', '-q', execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim());
  execFileSync('cp', ['scripts/check-histories.sh', join(clone, 'scripts/check-histories.sh')]);
});
afterAll(() => rmSync(clone, { recursive: true, force: true }));

describe('check-histories.sh', { timeout: 120_000 }, () => {
  it('passes on the committed histories', () => {
    const r = check();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\d+ frozen histories unchanged/);
  });

  it('fails on an edited history, also once committed, until a marker commit names it', () => {
    const file = 'test/histories/conclude.json';
    appendFileSync(join(clone, file), '\n');
    let r = check();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${file} differs from its frozen version`);
    git('commit', '-qam', 'regenerate a history');
    expect(check().status).toBe(1);
    git('commit', '-q', '--allow-empty', '-m', `Refreeze conclude after removing its patch\n\nHistory-Version: ${file}`);
    r = check();
    expect(r.status, r.stderr).toBe(0);
  });

  it('fails on a deleted history', () => {
    unlinkSync(join(clone, 'test/histories/override.json'));
    const r = check();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/override\.json was deleted/);
  });
});
