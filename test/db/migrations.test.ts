import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../db/schema-engine.js';
import { testConfig, uniqueSuffix } from '../helpers/services.js';

const EXPECTED_TABLES = [
  'AggregateWatermark', 'Alert', 'AllocationSnapshot', 'ApiKey', 'Assignment', 'AuditLog', 'ContextSignal',
  'ContextSource', 'CycleStats', 'DeadLetter', 'Decision', 'EvaluationDataset', 'EvaluationRun', 'Event',
  'EventDedupe', 'Experiment', 'ModelVersion', 'Notification', 'NotificationAttempt', 'OperatorAction',
  'Prediction', 'Segment', 'SegmentMembership', 'TrainingPolicy', 'TrainingRun', 'UnitEventAggregate', 'Variant', '_prisma_migrations',
];

describe('migrations', () => {
  const { databaseUrl } = testConfig();
  const name = `expflow_mig_${uniqueSuffix()}`;
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  const admin = new pg.Client({ connectionString: databaseUrl });

  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });

  it('applies every migration to an empty database and records them', async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const applied = await applyMigrations(url.toString());
    expect(applied.length).toBeGreaterThan(0);

    const db = new pg.Client({ connectionString: url.toString() });
    await db.connect();
    try {
      const tables = await db.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
      );
      expect(tables.rows.map((r) => r.table_name)).toEqual(EXPECTED_TABLES);
      const recorded = await db.query<{ migration_name: string; finished_at: Date | null }>(`SELECT migration_name, finished_at FROM _prisma_migrations`);
      expect(recorded.rows.map((r) => r.migration_name).sort()).toEqual([...applied].sort());
      expect(recorded.rows.every((r) => r.finished_at !== null)).toBe(true);
      // Idempotency constraints the activities rely on.
      const idx = await db.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE tablename IN ('EventDedupe', 'Assignment', 'AllocationSnapshot')`);
      const names = idx.rows.map((r) => r.indexname);
      expect(names).toContain('EventDedupe_pkey');
      // Events are partitioned by day (the partition key is part of every unique key there).
      const part = await db.query<{ strategy: string }>(`SELECT partstrat AS strategy FROM pg_partitioned_table WHERE partrelid = '"Event"'::regclass`);
      expect(part.rows).toEqual([{ strategy: 'r' }]);
      expect(names).toContain('Assignment_experimentId_unitId_key');
      expect(names).toContain('AllocationSnapshot_experimentId_cycle_step_key');
    } finally {
      await db.end();
    }
    // A second run applies nothing.
    expect(await applyMigrations(url.toString())).toEqual([]);
  });
});
