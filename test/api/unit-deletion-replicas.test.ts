/**
 * DELETE /units with two API processes: the stack's API (this process) answers the deletion while
 * a second API process (a child, `api/main.ts`) holds the unit's exposure in its memory buffer (its
 * flush interval is ten minutes, so only a drain request sends it). The erasure must reach it; and
 * when a process does not answer the drain request, nothing is deleted (503).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from 'bullmq';
import { at } from '../../domain/at.js';
import type { EventsJob } from '../../infra/queues.js';
import { createRedis } from '../../infra/redis.js';
import { pseudonymiseUnitId } from '../../infra/unit-pseudonym.js';
import { abExperiment } from '../helpers/fixtures.js';
import { kill, spawnApi, type Child } from '../helpers/processes.js';
import { uniqueSuffix, waitFor } from '../helpers/services.js';
import { useStack, useStores } from '../helpers/stack.js';

const stack = useStack();
const { config } = stack;
const pseudonym = (id: string) => pseudonymiseUnitId(config.unitIdKey, id);
const { db, redis, queues } = useStores(config);
let replica: { child: Child; url: string } | undefined;
const experiment = `replicas-${uniqueSuffix()}`;

beforeAll(async () => {
  const r = await stack.post('/experiments', abExperiment(experiment, { cycleIntervalSeconds: 3600, policy: { kind: 'fixed' } }));
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  replica = await spawnApi({ ...config, exposureSpoolDir: `${config.exposureSpoolDir}-replica` }, { EXPOSURE_FLUSH_INTERVAL_MS: '600000' });
}, 120_000);

afterAll(async () => {
  await kill(replica?.child, 'SIGTERM');
});

/** POST /assign to the replica until it knows the experiment (its snapshot arrives over Redis). */
async function assignOnReplica(unitId: string): Promise<void> {
  const url = replica?.url;
  if (!url) throw new Error('the replica did not start');
  await waitFor(async () => {
    const res = await fetch(`${url}/assign`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ experiment, unitId, context: {} }) });
    return res.status === 200;
  }, { timeoutMs: 60_000, what: 'the replica serving /assign' });
}

async function queuedUnits(): Promise<string[]> {
  const jobs = (await queues.events.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed'])) as Array<Job<EventsJob> | undefined>;
  return jobs.flatMap((j) => (j?.data.items ?? []).map((i) => (i as { unitId: string }).unitId));
}

const assignments = async (unit: string) => at((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "Assignment" WHERE "unitId" = $1`, [pseudonym(unit)])).rows, 0, 'count').n;

describe('DELETE /units across API processes', () => {
  it("reaches the exposures buffered in another API process's memory", async () => {
    const sfx = uniqueSuffix();
    const [gone, kept] = [`GONE${sfx}`, `KEPT${sfx}`];
    await assignOnReplica(gone);
    await assignOnReplica(kept);
    // The precondition that makes this test mean something: both exposures are only in the replica's buffer.
    expect((await queuedUnits()).filter((u) => u === pseudonym(gone) || u === pseudonym(kept))).toEqual([]);
    expect(await redis.hget(`expflow:sticky:${experiment}`, pseudonym(gone))).not.toBeNull();

    const res = await fetch(`${stack.api.url}/units/${encodeURIComponent(gone)}`, { method: 'DELETE' });
    const body = (await res.json()) as { queuedItems: number; exposures: number; stickyRecords: number };
    expect(res.status, JSON.stringify(body)).toBe(200);
    // Scrubbed from the queue, or (a worker took the job first) written and then deleted.
    expect(body.queuedItems + body.exposures).toBeGreaterThanOrEqual(1);
    expect(body.stickyRecords).toBe(1);

    // The replica handed its whole buffer over: the kept unit's exposure is written by the stack's
    // worker; the erased unit's, which travelled with it, never is.
    await waitFor(async () => (await assignments(kept)) === 1, { timeoutMs: 60_000, what: "the kept unit's exposure written" });
    expect(await assignments(gone)).toBe(0);
    expect(await queuedUnits()).not.toContain(pseudonym(gone));
    expect(await redis.hget(`expflow:sticky:${experiment}`, pseudonym(gone))).toBeNull();
  }, 120_000);

  it('deletes nothing and answers 503 when an API process does not hand over its buffer', async () => {
    const unit = `MUTE${uniqueSuffix()}`;
    expect((await stack.post('/assign', { experiment, unitId: unit, context: {} })).status).toBe(200);
    await waitFor(async () => (await assignments(unit)) === 1, { timeoutMs: 60_000, what: 'the exposure written' });
    // A subscriber that never answers stands for a process that is stuck.
    const mute = createRedis(config.redisUrl);
    try {
      await mute.subscribe(`expflow:exposures:drain:${config.events.queue}`);
      const res = await fetch(`${stack.api.url}/units/${encodeURIComponent(unit)}`, { method: 'DELETE' });
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(res.status, JSON.stringify(body)).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(body.error.code).toBe('erasure_unavailable');
      expect(body.error.message).toMatch(/^unit: 1 of 3 API processes did not hand over their buffered exposures within 10000 ms; nothing was deleted, retry$/);
      expect(await assignments(unit)).toBe(1);
      expect(await redis.hget(`expflow:sticky:${experiment}`, pseudonym(unit))).not.toBeNull();
    } finally {
      mute.disconnect();
    }
    // Once every process answers, the same request goes through.
    const again = await fetch(`${stack.api.url}/units/${encodeURIComponent(unit)}`, { method: 'DELETE' });
    expect(again.status).toBe(200);
    expect(await assignments(unit)).toBe(0);
  }, 120_000);
});
