/** Stored segments: their centroids and sizes (segment step), and their status and coverage (throttle step). */
import type { FeatureScaling, SegmentStatus } from '../domain/types.js';
import type { PrismaClient } from './prisma.js';

export interface StoredSegmentState {
  status: SegmentStatus;
  /** Coverage relative to the experiment's (0..1). */
  coverage: number;
}

/** Each stored segment's status and relative coverage, by segment id. */
export async function segmentStates(prisma: PrismaClient, experimentId: string): Promise<Map<number, StoredSegmentState>> {
  const rows = await prisma.segment.findMany({ where: { experimentId }, select: { segmentId: true, status: true, coverage: true } });
  return new Map(rows.map((r) => [r.segmentId, { status: r.status, coverage: r.coverage }]));
}

/** Ids of the segments terminated so far. */
export async function terminatedSegments(prisma: PrismaClient, experimentId: string): Promise<Set<number>> {
  const rows = await prisma.segment.findMany({ where: { experimentId, status: 'terminated' }, select: { segmentId: true } });
  return new Set(rows.map((r) => r.segmentId));
}

export interface SegmentShape {
  id: number;
  size: number;
  /** Behaviour-space centroid. */
  centroid: number[];
  /** Assignment-context centroid (null: the catch-all segment). */
  contextCentroid: number[] | null;
}

/** Creates or updates a segment's centroids, scaling and size as of `cycle`; status and coverage are kept. */
export async function saveSegmentShape(prisma: PrismaClient, experimentId: string, cycle: number, s: SegmentShape, scaling: FeatureScaling[]): Promise<void> {
  const data = { centroid: { behaviour: s.centroid, context: s.contextCentroid }, scaling: scaling as object, size: s.size, cycleUpdated: cycle };
  await prisma.segment.upsert({
    where: { experimentId_segmentId: { experimentId, segmentId: s.id } },
    create: { experimentId, segmentId: s.id, ...data },
    update: data,
  });
}

/** Stores a segment's status, coverage and the reason for them. */
export async function saveSegmentStatus(prisma: PrismaClient, experimentId: string, s: { id: number; status: SegmentStatus; coverage: number; reason: string }): Promise<void> {
  await prisma.segment.update({
    where: { experimentId_segmentId: { experimentId, segmentId: s.id } },
    data: { status: s.status, coverage: s.coverage, statusReason: s.reason },
  });
}
