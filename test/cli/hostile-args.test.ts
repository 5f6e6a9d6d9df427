/** API-backed CLI commands refuse bad input themselves: exit 2 naming the option or field, no request sent. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'expflow-cli-hostile-'));

/** Runs the CLI against an API address nothing listens on: reaching it would exit 1, not 2. */
function run(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'expflow.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, EXPFLOW_API_URL: 'http://127.0.0.1:1' } });
  return { code: r.status, stderr: r.stderr };
}

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('expflow experiments create --file', () => {
  it.each([
    ['an array', '[]', /--file: body: .*expected object/],
    ['no key', '{"name":"x","kind":"ab","owner":"o","variants":[],"config":{}}', /--file: key: /],
    ['a bad variant weight', JSON.stringify({ key: 'ok-key', name: 'n', kind: 'ab', owner: 'o', variants: [{ key: 'control', weight: 'half', control: true }, { key: 'b', weight: 0.5 }], config: { metrics: [{ key: 'm', event: 'e', type: 'binary', role: 'primary' }] } }), /--file: variants\[0\]\.weight: /],
  ])('with %s exits 2 naming the field', (_name, content, message) => {
    const r = run('experiments', 'create', '--file', file(`def-${Math.random().toString(36).slice(2)}.json`, content));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe('expflow experiments override', () => {
  it('refuses a variant given twice', () => {
    const r = run('experiments', 'override', 'some-exp', '--weights', 'control=0.7,control=0.3');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--weights: 'control' is given twice/);
  });
  it('refuses --weights together with --clear', () => {
    const r = run('experiments', 'override', 'some-exp', '--weights', 'control=1', '--clear');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--clear: give either --weights or --clear/);
  });
});
