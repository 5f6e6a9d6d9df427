/** Builds experiments and their data directly in the test database, without the API or Temporal. */
import { createExperimentSchema, type CreateExperimentInput } from '../../domain/experiment/config.js';
import { DEFAULT_HASH_VERSION, buildSnapshot, initialSegments } from '../../domain/experiment/snapshot.js';
import { createRng } from '../../domain/rng.js';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { writeEvents, writeExposures } from '../../infra/ingest.js';
import type { PrismaClient } from '../../infra/prisma.js';
import { saveSnapshot } from '../../infra/snapshot-writer.js';

/** A two-arm experiment definition on a binary `purchase` metric; `config` adds to its config. */
export function abExperiment(key: string, config: Record<string, unknown> = {}) {
  return {
    key,
    name: key,
    kind: 'ab',
    owner: 'tests',
    variants: [
      { key: 'control', weight: 0.5, control: true },
      { key: 'treatment', weight: 0.5 },
    ],
    config: { metrics: [{ key: 'purchase', event: 'purchase', type: 'binary', role: 'primary' }], ...config },
  };
}

export async function createExperimentRow(prisma: PrismaClient, redis: Redis, raw: Record<string, unknown>) {
  const input: CreateExperimentInput = createExperimentSchema.parse(raw);
  const row = await prisma.experiment.create({
    data: {
      key: input.key,
      name: input.name,
      kind: input.kind,
      owner: input.owner,
      status: 'running',
      config: { ...input.config, hashVersion: DEFAULT_HASH_VERSION } as object,
      variants: { create: input.variants.map((v) => ({ key: v.key, name: v.key, initialWeight: v.weight, isControl: v.control })) },
    },
  });
  const def = { key: input.key, seed: row.id, hashVersion: DEFAULT_HASH_VERSION, variants: input.variants.map((v) => ({ key: v.key, isControl: v.control, weight: v.weight })), config: input.config };
  await saveSnapshot(prisma, redis, row.id, { cycle: 0, step: 'initial' }, (version) =>
    buildSnapshot(def, { version, cycle: 0, phase: 'running', segments: initialSegments(def), segmentFeatures: [], reason: 'initial', now: new Date().toISOString() }),
  );
  return row;
}

/**
 * Writes `n` exposures split evenly over the variants and conversion events with the given rates.
 * `extra` adds behaviour events per unit (for segmentation).
 */
export async function seedUnits(
  pool: Pool,
  opts: {
    experiment: string;
    n: number;
    variants: string[];
    rates: Record<string, number>;
    seed: number;
    snapshotVersion?: number;
    context?: (i: number) => Record<string, number>;
    extra?: (i: number) => Array<{ name: string; value: number }>;
  },
) {
  const rng = createRng(opts.seed);
  const now = new Date().toISOString();
  const exposures = [];
  const events = [];
  for (let i = 0; i < opts.n; i++) {
    const variant = opts.variants[i % opts.variants.length]!;
    const unitId = `${opts.experiment}-u${i}`;
    exposures.push({ experiment: opts.experiment, unitId, variant, propensity: 1 / opts.variants.length, segment: 0, snapshotVersion: opts.snapshotVersion ?? 1, context: opts.context?.(i) ?? {}, assignedAt: now });
    if (rng() < opts.rates[variant]!) events.push({ eventId: `${unitId}-conv`, experiment: opts.experiment, unitId, name: 'purchase', value: 1, timestamp: now, context: {} });
    for (const [j, e] of (opts.extra?.(i) ?? []).entries()) events.push({ eventId: `${unitId}-x${j}`, experiment: opts.experiment, unitId, name: e.name, value: e.value, timestamp: now, context: {} });
  }
  for (let i = 0; i < exposures.length; i += 2000) await writeExposures(pool, exposures.slice(i, i + 2000));
  for (let i = 0; i < events.length; i += 2000) await writeEvents(pool, events.slice(i, i + 2000));
  return { exposures: exposures.length, events: events.length };
}
