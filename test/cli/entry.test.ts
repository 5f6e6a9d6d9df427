/**
 * bin/expflow.js runs a checkout's sources, never a dist/ left over from an earlier build (which ran
 * stale code in tests); without sources (the production image) it runs the build.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const root = mkdtempSync(join(tmpdir(), 'expflow-entry-'));
mkdirSync(join(root, 'bin'));
mkdirSync(join(root, 'cli'));
mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
copyFileSync('bin/expflow.js', join(root, 'bin', 'expflow.js'));
symlinkSync(resolve('node_modules'), join(root, 'node_modules'));
writeFileSync(join(root, 'dist', 'cli', 'analyze.js'), "process.stdout.write('built');\n");
writeFileSync(join(root, 'cli', 'analyze.ts'), "const from: string = 'source';\nprocess.stdout.write(from);\n");
afterAll(() => rmSync(root, { recursive: true, force: true }));

const run = async () => (await exec(process.execPath, [join(root, 'bin', 'expflow.js'), 'analyze'])).stdout;

describe('bin/expflow.js', () => {
  it('runs the source when the checkout has it, even beside a built dist/', async () => {
    expect(await run()).toBe('source');
  });
  it('runs the build when there is no source', async () => {
    rmSync(join(root, 'cli', 'analyze.ts'));
    expect(await run()).toBe('built');
  });
});
