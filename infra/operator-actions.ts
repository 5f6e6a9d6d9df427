/** Operator actions (arm re-enables, sample-ratio acknowledgements) as the decide step reads them. */
import type { CycleOperatorAction } from '../domain/experiment/decide-cycle.js';
import { auditOnce } from './audit-log.js';
import type { PrismaClient } from './prisma.js';

/** Every action taken on the experiment, oldest first. */
export async function operatorActions(prisma: PrismaClient, experimentId: string): Promise<CycleOperatorAction[]> {
  return prisma.operatorAction.findMany({ where: { experimentId }, orderBy: { at: 'asc' }, select: { kind: true, arm: true, actor: true, reason: true, cycle: true } });
}

export interface OperatorActionRecord {
  experimentId: string;
  experimentKey: string;
  kind: string;
  arm: string | null;
  actor: string;
  reason: string;
  cycle: number;
  /** Idempotency: a retried activity stores nothing new. */
  dedupeKey: string;
}

/** Stores the action and its audit entry together, once. */
export async function recordOperatorActionOnce(prisma: PrismaClient, a: OperatorActionRecord): Promise<void> {
  const { experimentId, kind, arm, actor, reason, cycle, dedupeKey } = a;
  await prisma.$transaction([
    prisma.operatorAction.upsert({ where: { dedupeKey }, create: { experimentId, kind, arm, actor, reason, cycle, dedupeKey }, update: {} }),
    auditOnce(prisma, { actor, action: kind, target: arm ? `${a.experimentKey}/${arm}` : a.experimentKey, reason, data: { cycle }, dedupeKey }),
  ]);
}
