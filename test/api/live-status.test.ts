/**
 * With no worker polling the experiment's task queue, creating and reading an experiment answers
 * within seconds, reporting why the live status is missing (the status query used to wait for a
 * worker until the client timed out; found by the schemathesis run). Steering updates answer 503
 * with Retry-After once their timeout passes, also past Temporal's limit of updates in flight per
 * workflow (they used to wait forever, and the eleventh concurrent one was a 500).
 */
import { describe, expect, it } from 'vitest';
import { testConfig, uniqueSuffix } from '../helpers/services.js';
import { useApi } from '../helpers/stack.js';

// A task queue no worker polls.
const config = { ...testConfig(), taskQueue: `no-worker-${uniqueSuffix()}`, steeringTimeoutMs: 2_000 };
const api = useApi(config);

async function create(key: string): Promise<Response> {
  return fetch(`${api.url}/experiments`, {
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
}

describe('live status without a worker', () => {
  it('create and get answer within seconds, with liveError saying why live is null', async () => {
    const key = `noworker-${uniqueSuffix()}`;
    const started = Date.now();
    const created = await create(key);
    expect(created.status).toBe(201);
    const body = (await created.json()) as { key: string; live: unknown; liveError: string | null };
    expect(body).toMatchObject({ key, live: null, liveError: expect.stringMatching(/did not answer its status query within 3 s/) });
    const got = await fetch(`${api.url}/experiments/${key}`);
    expect(got.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe('steering without a worker', () => {
  it('run-cycle and the other updates answer 503 with Retry-After, none a 500, also 14 at once', async () => {
    const key = `noworker-steer-${uniqueSuffix()}`;
    expect((await create(key)).status).toBe(201);
    const post = (path: string, body: unknown) =>
      fetch(`${api.url}/experiments/${key}/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const started = Date.now();
    const answers = await Promise.all([
      ...Array.from({ length: 12 }, () => post('run-cycle', { actor: 'tests', reason: 'no worker' })),
      post('allocation', { weights: { control: 0.5, b: 0.5 }, actor: 'tests', reason: 'no worker' }),
      post('conclude', { actor: 'tests', reason: 'no worker' }),
    ]);
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s >= 500 && s !== 503)).toEqual([]);
    for (const r of answers) {
      expect([429, 503]).toContain(r.status);
      expect(r.headers.get('retry-after')).toBe('5');
    }
    expect(statuses).toContain(503);
    const body = (await answers[0]!.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toMatch(/^(worker_unavailable|too_many_updates)$/);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
