/**
 * The storage maintenance Schedule on the real Temporal dev server, worker and PostgreSQL: created
 * idempotently, it runs the maintenance workflow, which creates the coming days' Event partitions,
 * drops those past the retention (with their rows), prunes the dedupe table past its window, and
 * deletes context signals past their retention while keeping each series' newest observation.
 */
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, dayOf } from '../../domain/storage/partition-plan.js';
import { createEventPartitions, listEventPartitions, partitionName } from '../../infra/event-partitions.js';
import { ensureMaintenanceSchedule } from '../../infra/maintenance-schedule.js';
import { createPool } from '../../infra/pg.js';
import { startWorker, type RunningWorker } from '../../worker.js';
import { testConfig, uniqueSuffix, waitFor } from '../helpers/services.js';

const config = testConfig();
const pool = createPool(config.databaseUrl);
let worker: RunningWorker;
let connection: Connection;
let client: Client;

beforeAll(async () => {
  worker = await startWorker(config);
  connection = await Connection.connect({ address: config.temporalAddress });
  client = new Client({ connection, namespace: config.temporalNamespace });
});
afterAll(async () => {
  await worker?.close();
  await connection?.close();
  await pool.end();
});

/** Inserts observations of one series at these ISO times. */
async function signals(source: string, name: string, times: string[]) {
  for (const t of times) {
    await pool.query(`INSERT INTO "ContextSignal" (source, name, value, "timestamp", scope, "scopeKey") VALUES ($1, $2, 1, $3, '{"kind":"global"}', 'global')`, [source, name, t]);
  }
}
const signalTimes = async (source: string) =>
  (await pool.query<{ name: string; t: string }>(`SELECT name, to_char("timestamp", 'YYYY-MM-DD') AS t FROM "ContextSignal" WHERE source = $1 ORDER BY name, "timestamp"`, [source])).rows.map((r) => `${r.name} ${r.t}`);

describe('storage maintenance schedule', () => {
  it('creates future partitions, drops expired ones, prunes the dedupe window and old context signals', async () => {
    // Signal retention 3650 days: only these series (from 2001-2003) are old enough to touch.
    const src = `maint${uniqueSuffix()}`;
    const recent = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    await signals(src, 'busy', ['2001-01-01', '2002-06-01', `${recent}T00:00:00`]);
    await signals(src, 'quiet', ['2001-01-01', '2002-01-01', '2003-01-01']);

    const expired = '20010101';
    await createEventPartitions(pool, [expired]);
    await pool.query(`INSERT INTO "Event" ("eventId", "unitId", name, "timestamp") VALUES ($1, 'u', 'old', '2001-01-01T12:00:00')`, [`maint-${uniqueSuffix()}`]);
    const staleId = `maint-stale-${uniqueSuffix()}`;
    await pool.query(`INSERT INTO "EventDedupe" ("eventId", scope, "receivedAt") VALUES ($1, '', now() - interval '30 days')`, [staleId]);
    const ahead = addDays(dayOf(new Date()), 3);
    await pool.query(`DROP TABLE IF EXISTS "${partitionName(ahead)}"`); // prove the schedule creates it

    const scheduleId = `test-maintenance-${uniqueSuffix()}`;
    const input = { retentionDays: 30, daysAhead: 3, dedupeWindowSeconds: 7 * 86_400, signalRetentionDays: 3650 };
    await ensureMaintenanceSchedule(client, { scheduleId, taskQueue: config.taskQueue, input, every: '1h' });
    // Idempotent: a second worker starting does not fail or duplicate it.
    await ensureMaintenanceSchedule(client, { scheduleId, taskQueue: config.taskQueue, input, every: '1h' });
    const handle = client.schedule.getHandle(scheduleId);
    try {
      await handle.trigger();
      const days = await waitFor(async () => {
        const d = await listEventPartitions(pool);
        return !d.includes(expired) && d.includes(ahead) ? d : null;
      }, { what: 'partitions maintained', timeoutMs: 60_000 });
      for (let i = 0; i <= 3; i++) expect(days).toContain(addDays(dayOf(new Date()), i));
      expect(days.every((d) => d >= addDays(dayOf(new Date()), -30))).toBe(true);
      expect((await pool.query(`SELECT 1 FROM "EventDedupe" WHERE "eventId" = $1`, [staleId])).rowCount).toBe(0);
      const desc = await waitFor(async () => {
        const x = await handle.describe();
        return x.info.recentActions.length > 0 ? x : null;
      }, { what: 'a recorded schedule action' });
      expect(desc.action.type).toBe('startWorkflow');
      const run = client.workflow.getHandle(desc.info.recentActions[0]!.action.workflow.workflowId);
      const result = await run.result();
      expect(result.dropped).toContain(expired);
      expect(result.created).toContain(ahead);
      // Old observations went, the recent one stayed, and a series with only old ones kept its newest.
      expect(await signalTimes(src)).toEqual([`busy ${recent}`, 'quiet 2003-01-01']);
      expect(result.signalsPruned).toBeGreaterThanOrEqual(4);
    } finally {
      await handle.delete();
    }
  });
});
