/** `expflow training` against the real API and Temporal: set, show, pause, resume, list, delete; bad input exits 2 naming the option or field. */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runExpflow } from '../helpers/cli.js';
import { uniqueSuffix } from '../helpers/services.js';
import { useStack } from '../helpers/stack.js';

const stack = useStack();

const cli = (...args: string[]) => runExpflow(['training', ...args, '--api', stack.api.url]);

function policyFile(policy: unknown): string {
  const file = join(tmpdir(), `policy-${uniqueSuffix()}.json`);
  writeFileSync(file, JSON.stringify(policy));
  return file;
}

describe('expflow training', () => {
  it('sets a policy, shows it with its schedule, pauses and resumes it, and deletes it', async () => {
    const entity = `cli-${uniqueSuffix()}`;
    const ref = ['--entity', entity, '--model-type', 'ranker'];
    const file = policyFile({ frequency: { every: '12h' }, trainer: { kind: 'bullmq', queue: 'cli-train' }, dataset: { id: 'clicks' } });
    const set = await cli('set', ...ref, '--file', file);
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ entity, modelType: 'ranker', frequency: { every: '12h' }, schedule: { paused: false } });

    const models = JSON.parse((await cli('models', '--entity', entity)).stdout);
    expect(models.models).toEqual([expect.objectContaining({ modelType: 'ranker', lastTrainedAt: null, frequency: { every: '12h' }, nextDueAt: expect.any(String) })]);

    expect(JSON.parse((await cli('pause', ...ref, '--reason', 'freeze')).stdout).schedule.paused).toBe(true);
    expect(JSON.parse((await cli('show', ...ref)).stdout).schedule).toMatchObject({ paused: true, nextDue: null });
    expect(JSON.parse((await cli('resume', ...ref)).stdout).schedule.paused).toBe(false);
    expect(JSON.parse((await cli('list', '--entity', entity)).stdout).policies).toHaveLength(1);
    expect((await cli('delete', ...ref)).code).toBe(0);
    const gone = await cli('show', ...ref);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/404 modelType: no training policy/);
    // Nine CLI processes, each starting tsx: on a loaded machine that takes more than a minute.
  }, 180_000);

  it.each([
    [['purge'], /command: expected one of models, set/],
    [['show', '--entity', 'x'], /--model-type: required/],
    [['models', '--entity', 'bad entity'], /--entity: use up to 100/],
    [['set', '--entity', 'x', '--model-type', 'y'], /--file: give the policy/],
    [['set', '--entity', 'x', '--model-type', 'y', '--file', '/nonexistent/p.json'], /--file: ENOENT/],
    [['set', '--entity', 'x', '--model-type', 'y', '--file', policyFile({ frequency: { every: '6h' }, trainer: { kind: 'bullmq', queue: 'q' }, dataset: {} })], /--file: dataset\.id:/],
    [['set', '--entity', 'x', '--model-type', 'y', '--file', policyFile({ frequency: {}, trainer: { kind: 'bullmq', queue: 'q' }, dataset: { id: 'd' } })], /--file: frequency: give exactly one of every or cron/],
    [['runs', '--entity', 'x', '--limit', '0'], /--limit: a whole number from 1 to 200/],
  ])('%j exits 2 naming the problem', async (args, message) => {
    const r = await cli(...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
