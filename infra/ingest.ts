/**
 * Writes batches from the "events" queue into Postgres with one multi-row INSERT per batch.
 * Idempotent: events dedupe on eventId and exposures on (experiment, unit), so a retried job, or a
 * client that resends a batch, writes nothing twice. The first exposure of a unit wins, which is
 * also what makes assignment sticky in the database.
 */
import type { Pool } from 'pg';
import type { ExposureRecord, OutcomeEvent } from './queues.js';

export async function writeEvents(pool: Pool, items: OutcomeEvent[]): Promise<number> {
  if (!items.length) return 0;
  const res = await pool.query(
    `INSERT INTO "Event" ("eventId", "experimentId", "unitId", name, value, context, "timestamp")
     SELECT e.event_id, x.id, e.unit_id, e.name, e.value, e.context, (e.ts AT TIME ZONE 'UTC')
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::jsonb[], $7::timestamptz[])
          AS e(event_id, exp_key, unit_id, name, value, context, ts)
     JOIN "Experiment" x ON x.key = e.exp_key
     ON CONFLICT ("experimentId", "eventId") DO NOTHING`,
    [
      items.map((i) => i.eventId),
      items.map((i) => i.experiment),
      items.map((i) => i.unitId),
      items.map((i) => i.name),
      items.map((i) => i.value),
      items.map((i) => JSON.stringify(i.context ?? {})),
      items.map((i) => i.timestamp),
    ],
  );
  return res.rowCount ?? 0;
}

export async function writeExposures(pool: Pool, items: ExposureRecord[]): Promise<number> {
  if (!items.length) return 0;
  const res = await pool.query(
    `INSERT INTO "Assignment" ("experimentId", "unitId", variant, propensity, segment, "snapshotVersion", context, "assignedAt")
     SELECT x.id, a.unit_id, a.variant, a.propensity, a.segment, a.version, a.context, (a.at AT TIME ZONE 'UTC')
     FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::int[], $6::int[], $7::jsonb[], $8::timestamptz[])
          AS a(exp_key, unit_id, variant, propensity, segment, version, context, at)
     JOIN "Experiment" x ON x.key = a.exp_key
     ON CONFLICT ("experimentId", "unitId") DO NOTHING`,
    [
      items.map((i) => i.experiment),
      items.map((i) => i.unitId),
      items.map((i) => i.variant),
      items.map((i) => i.propensity),
      items.map((i) => i.segment),
      items.map((i) => i.snapshotVersion),
      items.map((i) => JSON.stringify(i.context ?? {})),
      items.map((i) => i.assignedAt),
    ],
  );
  return res.rowCount ?? 0;
}
