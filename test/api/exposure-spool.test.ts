/**
 * Exposures survive a Redis outage: while a Redis of the test's own (started here on a free port,
 * never the shared one) is down, the log spools them to disk; stop() (SIGTERM) spools what is
 * buffered; when Redis returns, the next process replays the spool and every exposure reaches the
 * queue.
 */
import { Queue } from 'bullmq';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExposureLog } from '../../api/exposure-log.js';
import { ExposureSpool } from '../../api/exposure-spool.js';
import type { EventsJob, ExposureRecord } from '../../infra/queues.js';
import { createRedis } from '../../infra/redis.js';
import { waitFor } from '../helpers/services.js';

const dir = mkdtempSync(join(tmpdir(), 'expflow-spool-test-'));
let redis: ChildProcess | null = null;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function startRedis(port: number): Promise<void> {
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''], { stdio: 'ignore' });
  const probe = createRedis(`redis://127.0.0.1:${port}`);
  probe.on('error', () => {});
  await waitFor(async () => (await probe.ping().catch(() => null)) === 'PONG', { what: 'test redis up' });
  probe.disconnect();
}

async function stopRedis(): Promise<void> {
  const p = redis!;
  redis = null;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL'); // an outage, not a clean shutdown
  await exited;
}

afterAll(async () => {
  if (redis) await stopRedis();
});

const record = (unitId: string): ExposureRecord => ({
  experiment: 'spool-exp', unitId, variant: 'treatment', propensity: 0.5, segment: 0, snapshotVersion: 1, context: {}, assignedAt: new Date().toISOString(),
});

async function queuedUnits(queue: Queue<EventsJob>): Promise<string[]> {
  const jobs = await queue.getJobs(['waiting']);
  return jobs.flatMap((j) => (j.data.kind === 'exposures' ? j.data.items.map((i) => i.unitId) : [])).sort();
}

/** Every spool file under `base`, whichever process's directory holds it. */
function spoolFiles(base: string): string[] {
  return readdirSync(base, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /^(adopted-)?exposures-.+\.ndjson$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

describe('exposure spool', () => {
  it('keeps every exposure through a Redis outage and a shutdown, and replays them when Redis returns', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const spoolDir = join(dir, 'spool');
    await startRedis(port);

    const conn = createRedis(url, { forBullmq: true, failFast: true });
    conn.on('error', () => {});
    const queue = new Queue<EventsJob>('spool-test', { connection: conn });
    const log = new ExposureLog(queue, { spoolDir, intervalMs: 60_000, addTimeoutMs: 1000 });
    log.push(record('before-1'));
    log.push(record('before-2'));
    await log.flush();
    expect(await queuedUnits(queue)).toEqual(['before-1', 'before-2']);

    await stopRedis();
    for (let i = 0; i < 5; i++) log.push(record(`during-${i}`));
    await log.flush();
    expect(log.spooled).toBe(5);
    // SIGTERM while Redis is still down: the buffer goes to disk too.
    log.push(record('at-shutdown'));
    await log.stop();
    expect(log.spooled).toBe(6);
    const spooled = spoolFiles(spoolDir).flatMap((f) => readFileSync(f, 'utf8').trim().split('\n'));
    expect(spooled.map((l) => (JSON.parse(l) as ExposureRecord).unitId).sort()).toEqual(['at-shutdown', 'during-0', 'during-1', 'during-2', 'during-3', 'during-4']);
    await queue.close().catch(() => {});
    conn.disconnect();

    // Redis returns (its AOF kept the first two); a new process replays the spool.
    await startRedis(port);
    const conn2 = createRedis(url, { forBullmq: true, failFast: true });
    conn2.on('error', () => {});
    await waitFor(async () => (await conn2.ping().catch(() => null)) === 'PONG', { what: 'connection' });
    const queue2 = new Queue<EventsJob>('spool-test', { connection: conn2 });
    const next = new ExposureLog(queue2, { spoolDir, intervalMs: 50 });
    next.start();
    try {
      await waitFor(async () => (await queuedUnits(queue2)).length === 8, { what: 'replayed exposures in the queue' });
      expect(await queuedUnits(queue2)).toEqual(['at-shutdown', 'before-1', 'before-2', 'during-0', 'during-1', 'during-2', 'during-3', 'during-4']);
      expect(next.replayed).toBe(6);
      expect(spoolFiles(spoolDir)).toEqual([]);
    } finally {
      await next.stop();
      await queue2.close();
      conn2.disconnect();
    }
  });
});

describe('spool directories of processes sharing a volume', () => {
  // Every container's API may run as pid 1: both spools below share a pid, a host and a directory.
  const records = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => record(`${prefix}-${i}`));
  const unitsOf = (batches: ExposureRecord[][]) => batches.flat().map((r) => r.unitId).sort();

  it('never replays a live process\'s files, and adopts them once its lease lapses', async () => {
    const base = join(dir, 'shared');
    const a = new ExposureSpool(base, { instance: 'host-1-a', leaseMs: 3_000 });
    const b = new ExposureSpool(base, { instance: 'host-1-b', leaseMs: 3_000 });
    a.append(records('a', 3));
    b.append(records('b', 2));
    const byB: ExposureRecord[][] = [];
    expect(await b.replay(async (r) => void byB.push(r))).toBe(2);
    expect(unitsOf(byB)).toEqual(['b-0', 'b-1']);
    // A is alive (its lease is fresh): its file is still there, untouched.
    expect(spoolFiles(join(base, 'host-1-a'))).toHaveLength(1);

    // A dies without a word: no heartbeat. Once its lease lapses B adopts and replays its files.
    await waitFor(async () => {
      b.heartbeat();
      return b.pending ? true : null;
    }, { what: 'B noticing the lapsed lease', timeoutMs: 15_000 });
    const adopted: ExposureRecord[][] = [];
    expect(await b.replay(async (r) => void adopted.push(r))).toBe(3);
    expect(unitsOf(adopted)).toEqual(['a-0', 'a-1', 'a-2']);
    expect(spoolFiles(base)).toEqual([]);
    // Nothing is replayed twice: A's directory is gone, so a later replay finds nothing.
    expect(await b.replay(async () => { throw new Error('nothing to send'); })).toBe(0);
    b.close();
    a.close();
  });

  it('hands files over at once when a process stops with some left, and keeps them after a failed send', async () => {
    const base = join(dir, 'handover');
    const a = new ExposureSpool(base, { instance: 'host-2-a', leaseMs: 60_000 });
    const b = new ExposureSpool(base, { instance: 'host-2-b', leaseMs: 60_000 });
    a.append(records('left', 2));
    a.close(); // releases its lease: no need to wait a minute
    await expect(b.replay(async () => { throw new Error('redis down'); })).resolves.toBe(0);
    expect(b.pending).toBe(true);
    expect(spoolFiles(base)).toHaveLength(1);
    const sent: ExposureRecord[][] = [];
    expect(await b.replay(async (r) => void sent.push(r))).toBe(2);
    expect(unitsOf(sent)).toEqual(['left-0', 'left-1']);
    b.close();
    expect(readdirSync(base)).toEqual([]);
  });

  it('adopts files of the earlier flat layout', async () => {
    const base = join(dir, 'legacy');
    mkdirSync(base, { recursive: true });
    writeFileSync(join(base, 'exposures-123-1-0.ndjson'), `${JSON.stringify(record('flat-0'))}\n`);
    writeFileSync(join(base, 'exposures-123-1-1.ndjson.replaying-999999'), `${JSON.stringify(record('flat-1'))}\n`);
    const s = new ExposureSpool(base, { instance: 'host-3' });
    expect(s.pending).toBe(true);
    const sent: ExposureRecord[][] = [];
    expect(await s.replay(async (r) => void sent.push(r))).toBe(2);
    expect(unitsOf(sent)).toEqual(['flat-0', 'flat-1']);
    s.close();
    expect(readdirSync(base)).toEqual([]);
  });
});

