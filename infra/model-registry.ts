/**
 * The model registry's stored versions (ModelVersion rows): champion, candidates, retired and
 * rejected ones per entity × model type. Changes to one entity × model type are serialised by an
 * advisory lock held for the transaction (lockRegistry), taken by registration, comparisons and
 * their settlement alike.
 */
import type { Prisma } from '../generated/prisma/client.js';
import { settleComparison } from '../domain/models/comparison.js';
import type { PrismaClient } from './prisma.js';

/** Takes the entity × model type's registry lock until the transaction ends. */
export async function lockRegistry(tx: Prisma.TransactionClient, entity: string, modelType: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`${entity}\u001f${modelType}`}))`;
}

/** What a settled comparison touched: its entity × model type and the retraining runs whose versions it compared. */
export interface SettledComparison {
  entity: string;
  modelType: string;
  runIds: string[];
}

const runIdsOf = (versions: Array<{ trainingRunId: string | null }>) => [...new Set(versions.map((v) => v.trainingRunId).filter((x): x is string => x !== null))];

/**
 * Settles a registry comparison in one transaction: applies domain/models/comparison.ts's plan to
 * the compared versions (each records the comparison as its lineage) and audits it. Settled
 * already (no candidate left): returns what the first settlement touched, so the caller's follow-up
 * still runs; null when the experiment compared nothing.
 */
export async function settleComparisonOnce(
  prisma: PrismaClient,
  c: { experimentKey: string; phase: 'concluded' | 'stopped'; winner: string | null; reason: string },
): Promise<SettledComparison | null> {
  const { experimentKey } = c;
  return prisma.$transaction(async (tx) => {
    const challengers = await tx.modelVersion.findMany({ where: { experimentKey, status: 'candidate' } });
    const first = challengers[0];
    if (!first) {
      const compared = await tx.modelVersion.findMany({ where: { experimentKey, settledBy: experimentKey } });
      const any = compared[0];
      if (!any) return null;
      return { entity: any.entity, modelType: any.modelType, runIds: runIdsOf(compared) };
    }
    const { entity, modelType } = first;
    await lockRegistry(tx, entity, modelType);
    const variants = await tx.variant.findMany({ where: { experiment: { key: experimentKey } } });
    const versionOf = (arm: string) => (variants.find((v) => v.key === arm)?.payload as { modelVersionId?: string } | undefined)?.modelVersionId;
    // Promote only over the champion this comparison was run against.
    const comparedWith = versionOf('champion');
    const current = await tx.modelVersion.findFirst({ where: { entity, modelType, status: 'champion' } });
    const championChanged = current !== null && current.id !== comparedWith;
    const arms = variants.filter((v) => v.key !== 'champion').map((v) => ({ arm: v.key, id: versionOf(v.key) ?? '' }));
    const plan = settleComparison({
      phase: c.phase,
      winner: c.winner,
      champion: { id: comparedWith ?? current?.id ?? '', isCurrent: !championChanged },
      challengers: arms.filter((a) => challengers.some((ch) => ch.id === a.id)),
    });
    for (const change of plan.changes) {
      await tx.modelVersion.updateMany({ where: { id: change.id }, data: { status: change.status, settledBy: experimentKey } });
    }
    const promoted = challengers.find((ch) => ch.id === plan.promoted);
    const why = championChanged ? `the champion changed during the comparison (now ${current?.version}); ${c.reason}` : c.reason;
    await tx.auditLog.create({
      data: {
        actor: 'expflow',
        action: promoted ? 'model.promoted' : 'model.rejected',
        target: `${entity}/${modelType}`,
        reason: promoted ? `${promoted.version} promoted, ${plan.changes.filter((ch) => ch.status === 'retired').length} retired: ${why}` : `${challengers.map((ch) => ch.version).join(', ')} rejected: ${why}`,
        data: { experimentKey, changes: plan.changes },
      },
    });
    return { entity, modelType, runIds: runIdsOf(challengers) };
  });
}

/** A retraining run's versions (of one model type, when given), oldest first. */
export async function runVersions(prisma: PrismaClient, runId: string, modelType?: string) {
  return prisma.modelVersion.findMany({ where: { trainingRunId: runId, ...(modelType === undefined ? {} : { modelType }) }, orderBy: { createdAt: 'asc' } });
}

/** Per model type of the entity, when its newest served (non-shadow) version was trained (or registered). */
export async function lastTrainedByModelType(prisma: PrismaClient, entity: string): Promise<Map<string, Date | null>> {
  const last = await prisma.modelVersion.groupBy({ by: ['modelType'], where: { entity, status: { not: 'shadow' } }, _max: { trainedAt: true, createdAt: true } });
  return new Map(last.map((l) => [l.modelType, l._max.trainedAt ?? l._max.createdAt ?? null]));
}
