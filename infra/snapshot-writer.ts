/**
 * Persists a snapshot to Postgres and publishes it to Redis. Keyed by (experiment, cycle, step): a
 * retry finds the row it wrote before and republishes it, so versions are never burnt twice.
 */
import type { Redis } from 'ioredis';
import type { AllocationSnapshot } from '../domain/types.js';
import { allocationSnapshotSchema } from '../domain/experiment/snapshot-schema.js';
import { weightsBySegment } from '../domain/experiment/snapshot.js';
import { InvalidStoredDataError } from './errors.js';
import type { PrismaClient } from './prisma.js';
import { publishSnapshot } from './snapshot-store.js';

export async function saveSnapshot(
  prisma: PrismaClient,
  redis: Redis,
  experimentId: string,
  key: { cycle: number; step: string },
  build: (version: number, latest: AllocationSnapshot | null) => AllocationSnapshot,
  opts: { replace?: boolean } = {},
): Promise<AllocationSnapshot> {
  const snapshot = await prisma.$transaction(async (tx) => {
    const existing = await tx.allocationSnapshot.findUnique({
      where: { experimentId_cycle_step: { experimentId, cycle: key.cycle, step: key.step } },
    });
    if (existing) return parseSnapshot(existing.snapshot, experimentId);
    // Serialise writers per experiment; the unique (experiment, version) index backs it up. The
    // builder sees the newest snapshot as of inside the lock, so concurrent writers (an override
    // and a phase change) build on each other instead of on a stale base.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${experimentId}))`;
    const raced = await tx.allocationSnapshot.findUnique({ where: { experimentId_cycle_step: { experimentId, cycle: key.cycle, step: key.step } } });
    if (raced) return parseSnapshot(raced.snapshot, experimentId);
    const latestRow = await tx.allocationSnapshot.findFirst({ where: { experimentId }, orderBy: { version: 'desc' } });
    const latest = latestRow ? parseSnapshot(latestRow.snapshot, experimentId) : null;
    const snap = build((latestRow?.version ?? 0) + 1, latest);
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
  await publishSnapshot(redis, snapshot, opts);
  return snapshot;
}

/** The newest snapshot stored for an experiment, or null. */
export async function latestSnapshot(prisma: PrismaClient, experimentId: string): Promise<AllocationSnapshot | null> {
  const row = await prisma.allocationSnapshot.findFirst({ where: { experimentId }, orderBy: { version: 'desc' } });
  return row ? parseSnapshot(row.snapshot, experimentId) : null;
}

/** A stored snapshot, parsed; one that does not parse is a permanent fault. */
function parseSnapshot(stored: unknown, experimentId: string): AllocationSnapshot {
  const r = allocationSnapshotSchema.safeParse(stored);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new InvalidStoredDataError(`stored snapshot of experiment ${experimentId} is invalid at ${issue?.path.join('.') || 'snapshot'}: ${issue?.message ?? 'unknown'}`);
}

/** Every stored snapshot of an experiment by version, parsed (the weights each period's units were randomised with). */
export async function snapshotsByVersion(prisma: PrismaClient, experimentId: string): Promise<Map<number, AllocationSnapshot>> {
  const rows = await prisma.allocationSnapshot.findMany({ where: { experimentId }, select: { version: true, snapshot: true } });
  return new Map(rows.map((r) => [r.version, parseSnapshot(r.snapshot, experimentId)]));
}
