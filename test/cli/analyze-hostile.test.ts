/** `expflow analyze` on hostile sizes: a clear exit 2 naming the field, never a hang. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'expflow-analyze-hostile-'));

describe('expflow analyze with arms of 2^53 units', () => {
  it.each(['bayesian', 'frequentist'])('--method %s exits 2 naming arms[0].n within seconds (the Bayesian comparison used to run for minutes)', (method) => {
    const n = Number.MAX_SAFE_INTEGER;
    const file = join(dir, `huge-${method}.json`);
    writeFileSync(file, JSON.stringify({ metric: { type: 'binary' }, control: 'A', arms: [{ key: 'A', n, sum: 9e15 }, { key: 'B', n, sum: 9e15 }] }));
    const r = spawnSync(process.execPath, [join(root, 'bin', 'expflow.js'), 'analyze', '--input', file, '--method', method], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/arms\.0\.n: at most 10\^12 units per arm/);
  });
});
