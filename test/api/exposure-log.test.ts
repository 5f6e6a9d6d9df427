/** The exposure log on a real BullMQ queue: batching, per-process dedupe of returning units, drain on stop. */
import { Queue } from 'bullmq';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExposureLog } from '../../api/exposure-log.js';
import type { EventsJob, ExposureRecord } from '../../infra/queues.js';
import { createRedis } from '../../infra/redis.js';
import { testConfig, uniqueSuffix } from '../helpers/services.js';

const connection = createRedis(testConfig().redisUrl, { forBullmq: true });
afterAll(() => connection.disconnect());

const exposure = (unitId: string): ExposureRecord => ({
  experiment: 'exp', unitId, variant: 'b', propensity: 0.5, segment: 0, snapshotVersion: 3, context: {}, assignedAt: new Date().toISOString(),
});

describe('ExposureLog', () => {
  it('batches exposures, logs a returning unit again only after ten minutes, and drains on stop', async () => {
    const queue = new Queue<EventsJob>(`test-exposures-${uniqueSuffix()}`, { connection });
    try {
      const log = new ExposureLog(queue, { spoolDir: mkdtempSync(join(tmpdir(), 'expflow-spool-')), maxBatch: 500, intervalMs: 60_000 });
      const t0 = Date.now();
      log.push(exposure('u1')); // first exposure
      log.pushReturning(exposure('u1'), t0); // returning: re-logged once…
      log.pushReturning(exposure('u1'), t0 + 1000); // …not again moments later
      log.push(exposure('u2'));
      log.pushReturning(exposure('u1'), t0 + 11 * 60_000); // a visit ten minutes on: logged again
      await log.stop();
      const jobs = await queue.getJobs(['waiting', 'delayed']);
      const units = jobs.flatMap((j) => (j.data.kind === 'exposures' ? j.data.items.map((i) => i.unitId) : []));
      expect(units.sort()).toEqual(['u1', 'u1', 'u1', 'u2']);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });

  it('keeps exposures in memory, and never rejects, while neither Redis nor the spool disk takes them', async () => {
    // Nothing listens on port 1: every send fails at once.
    const dead = createRedis('redis://127.0.0.1:1', { forBullmq: true });
    const queue = new Queue<EventsJob>(`test-exposures-dead-${uniqueSuffix()}`, { connection: dead });
    const base = mkdtempSync(join(tmpdir(), 'expflow-spool-'));
    try {
      const log = new ExposureLog(queue, { spoolDir: base, intervalMs: 60_000, addTimeoutMs: 500 });
      // The disk goes too: the spool's directory is now a plain file, so appending throws.
      rmSync(base, { recursive: true });
      writeFileSync(base, 'not a directory');
      log.push(exposure('u1'));
      log.push(exposure('u2'));
      await expect(log.flush()).resolves.toBeUndefined();
      expect(log.spooled).toBe(0);
      log.push(exposure('u3'));
      await expect(log.flush()).resolves.toBeUndefined();
      // The disk is back: the next flush spools all three; none was lost meanwhile.
      rmSync(base);
      mkdirSync(base);
      await log.flush();
      expect(log.spooled).toBe(3);
      const lines = readdirSync(base, { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ndjson'))
        .flatMap((f) => readFileSync(join(base, f), 'utf8').split('\n').filter(Boolean));
      expect(lines.map((l) => (JSON.parse(l) as ExposureRecord).unitId).sort()).toEqual(['u1', 'u2', 'u3']);
    } finally {
      dead.disconnect();
      rmSync(base, { recursive: true, force: true });
    }
  });
});
