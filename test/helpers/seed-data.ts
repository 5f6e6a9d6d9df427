/**
 * Deterministic experiment data written as ingestion writes it (infra/ingest.ts): exposures per arm
 * and purchase events drawn from a seeded generator, with fixed timestamps, so two experiments fed
 * the same seed hold the same data.
 */
import type { Pool } from 'pg';
import { createRng } from '../../domain/rng.js';
import { writeEvents, writeExposures } from '../../infra/ingest.js';
import type { ExposureRecord, OutcomeEvent } from '../../infra/queues.js';

/** A bare experiment row (no variants, empty config): enough for exposures and events to refer to. Its id. */
export async function insertExperiment(pool: Pool, key: string): Promise<string> {
  const r = await pool.query<{ id: string }>(
    `INSERT INTO "Experiment" (id, key, name, kind, config, owner, "updatedAt") VALUES (gen_random_uuid(), $1, $1, 'ab', '{}', 'tests', now()) RETURNING id`, [key]);
  const id = r.rows[0]?.id;
  if (!id) throw new Error(`experiment ${key} not inserted`);
  return id;
}

export async function seedArms(
  pool: Pool,
  opts: { experiment: string; prefix: string; arms: Record<string, { n: number; conv: number }>; snapshotVersion: number; seed: number; at: Date },
): Promise<{ exposures: number; events: number }> {
  const rng = createRng(opts.seed);
  const at = opts.at.toISOString();
  const exposures: ExposureRecord[] = [];
  const events: OutcomeEvent[] = [];
  for (const [variant, a] of Object.entries(opts.arms)) {
    for (let i = 0; i < a.n; i++) {
      const unitId = `${opts.prefix}-${variant}-${i}`;
      exposures.push({ experiment: opts.experiment, unitId, variant, propensity: 0.5, segment: 0, snapshotVersion: opts.snapshotVersion, context: {}, assignedAt: at });
      if (rng() < a.conv) events.push({ eventId: `${unitId}-p`, experiment: opts.experiment, unitId, name: 'purchase', value: 1, timestamp: at, context: {} });
    }
  }
  for (let i = 0; i < exposures.length; i += 2000) await writeExposures(pool, exposures.slice(i, i + 2000));
  for (let i = 0; i < events.length; i += 2000) await writeEvents(pool, events.slice(i, i + 2000));
  return { exposures: exposures.length, events: events.length };
}
