/** `expflow experiments` against the real API: steering works, bad arguments exit 2 naming the option. */
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runExpflow } from '../helpers/cli.js';
import { uniqueSuffix, waitFor } from '../helpers/services.js';
import { useStack } from '../helpers/stack.js';

const stack = useStack();

const cli = (...args: string[]) => runExpflow(['experiments', ...args, '--api', stack.api.url]);

describe('expflow experiments', () => {
  it('creates, overrides, pauses and stops an experiment', async () => {
    const key = `cli-${uniqueSuffix()}`;
    const file = join(tmpdir(), `${key}.json`);
    await writeFile(file, JSON.stringify({
      key, name: 'CLI', kind: 'ab', owner: 'cli-test',
      variants: [{ key: 'control', weight: 0.5, control: true }, { key: 'b', weight: 0.5 }],
      config: { metrics: [{ key: 'conv', event: 'purchase', type: 'binary', role: 'primary' }], cycleIntervalSeconds: 3600 },
    }));
    const created = await cli('create', '--file', file, '--actor', 'ana');
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout).key).toBe(key);

    const override = await cli('override', key, '--weights', 'control=0.7,b=0.3', '--reason', 'limit risk');
    expect(override.code, override.stderr).toBe(0);
    expect(JSON.parse(override.stdout).weights['0']).toEqual({ control: 0.7, b: 0.3 });

    const rejected = await cli('override', key, '--weights', 'control=0.7,b=0.7');
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toMatch(/409 weights: must sum to 1/);

    expect((await cli('pause', key, '--reason', 'incident')).code).toBe(0);
    await waitFor(async () => JSON.parse((await cli('get', key)).stdout).live?.phase === 'paused', { what: 'paused' });
    expect((await cli('stop', key, '--reason', 'done')).code).toBe(0);
    const listed = await cli('list');
    expect(JSON.parse(listed.stdout).experiments.some((e: { key: string }) => e.key === key)).toBe(true);
  });

  const bad: Array<[string[], RegExp]> = [
    [[], /^expflow experiments: command:/],
    [['frobnicate'], /command: expected one of/],
    [['get'], /key: give the experiment key/],
    [['get', 'NOT_A_KEY'], /key:/],
    [['stop', 'some-key'], /--reason: stopping an experiment needs a reason/],
    [['override', 'some-key'], /--weights:/],
    [['override', 'some-key', '--weights', 'control=abc'], /--weights: 'control=abc' is not variant=weight/],
    [['create'], /--file:/],
    [['create', '--file', '/nonexistent.json'], /--file: cannot read JSON/],
    [['list', '--status', 'weird'], /--status: expected one of/],
    [['list', '--bogus'], /bogus/],
  ];
  for (const [args, message] of bad) {
    it(`exits 2 on ${JSON.stringify(args)}`, async () => {
      const r = await cli(...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    });
  }

  it('exits 1 with the API message for an unknown experiment', async () => {
    const r = await cli('get', `missing-${uniqueSuffix()}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/404 key: experiment 'missing-.*' does not exist/);
  });
});
