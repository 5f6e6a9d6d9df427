/**
 * Replay gate: every saved history in test/histories/ must replay against the current workflow
 * code without a nondeterminism error. Regenerate with `npm run histories:save` only for an
 * intentional, patched() change.
 */
import { Worker } from '@temporalio/worker';
import { readFile, readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { WORKFLOWS_PATH } from '../helpers/workflow-worker.js';

const dir = new URL('../histories/', import.meta.url);

describe('workflow replay', async () => {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();

  it('has representative histories to replay', () => {
    expect(files).toEqual(expect.arrayContaining(['continue-as-new.json', 'override.json', 'pause-resume-stop.json', 'lifecycle-real-activities.json', 'tasks-per-cycle.json', 'override-mid-cycle.json']));
  });

  for (const file of files) {
    it(`replays ${file}`, async () => {
      const history = JSON.parse(await readFile(new URL(file, dir), 'utf8'));
      await Worker.runReplayHistory(
        { workflowsPath: WORKFLOWS_PATH },
        history,
        `replay-${file}`,
      );
    });
  }
});
