/**
 * With no worker polling the experiment's task queue, creating and reading an experiment answers
 * within seconds, reporting why the live status is missing (the status query used to wait for a
 * worker until the client timed out; found by the schemathesis run).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../../api/main.js';
import { testConfig, uniqueSuffix } from '../helpers/services.js';

// A task queue no worker polls.
const config = { ...testConfig(), taskQueue: `no-worker-${uniqueSuffix()}` };
let api: RunningApi;
beforeAll(async () => {
  api = await startApi(config, 0);
});
afterAll(async () => {
  await api.close();
});

describe('live status without a worker', () => {
  it('create and get answer within seconds, with liveError saying why live is null', async () => {
    const key = `noworker-${uniqueSuffix()}`;
    const started = Date.now();
    const created = await fetch(`${api.url}/experiments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        key,
        name: 'No worker',
        kind: 'ab',
        owner: 'tests',
        variants: [{ key: 'control', weight: 0.5, control: true }, { key: 'b', weight: 0.5 }],
        config: { metrics: [{ key: 'conv', event: 'purchase', type: 'binary', role: 'primary' }] },
      }),
    });
    expect(created.status).toBe(201);
    const body = (await created.json()) as { key: string; live: unknown; liveError: string | null };
    expect(body).toMatchObject({ key, live: null, liveError: expect.stringMatching(/did not answer its status query within 3 s/) });
    const got = await fetch(`${api.url}/experiments/${key}`);
    expect(got.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
