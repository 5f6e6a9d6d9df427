/**
 * Persists a snapshot to Postgres and publishes it to Redis. Keyed by (experiment, cycle, step): a
 * retry finds the row it wrote before and republishes it, so versions are never burnt twice.
 */
import type { Redis } from 'ioredis';
import type { AllocationSnapshot } from '../domain/types.js';
import { weightsBySegment } from '../domain/experiment/snapshot.js';
import type { PrismaClient } from './prisma.js';
import { publishSnapshot } from './snapshot-store.js';

export async function saveSnapshot(
  prisma: PrismaClient,
  redis: Redis,
  experimentId: string,
  key: { cycle: number; step: string },
  build: (version: number) => AllocationSnapshot,
): Promise<AllocationSnapshot> {
  const snapshot = await prisma.$transaction(async (tx) => {
    const existing = await tx.allocationSnapshot.findUnique({
      where: { experimentId_cycle_step: { experimentId, cycle: key.cycle, step: key.step } },
    });
    if (existing) return existing.snapshot as unknown as AllocationSnapshot;
    // Serialise version allocation per experiment; the unique (experiment, version) index backs it up.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${experimentId}))`;
    const max = await tx.allocationSnapshot.aggregate({ where: { experimentId }, _max: { version: true } });
    const snap = build((max._max.version ?? 0) + 1);
    await tx.allocationSnapshot.create({
      data: {
        experimentId,
        cycle: key.cycle,
        step: key.step,
        version: snap.version,
        weights: weightsBySegment(snap.segments),
        snapshot: snap as object,
        reason: snap.reason,
      },
    });
    return snap;
  });
  await publishSnapshot(redis, snapshot);
  return snapshot;
}

/** The newest snapshot stored for an experiment, or null. */
export async function latestSnapshot(prisma: PrismaClient, experimentId: string): Promise<AllocationSnapshot | null> {
  const row = await prisma.allocationSnapshot.findFirst({ where: { experimentId }, orderBy: { version: 'desc' } });
  return row ? (row.snapshot as unknown as AllocationSnapshot) : null;
}
