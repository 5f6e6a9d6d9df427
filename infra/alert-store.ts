/** Alert rows: one per key (an episode of a condition on a subject), open until resolved. */
import type { PrismaClient } from './prisma.js';

export interface StoredAlert {
  key: string;
  kind: string;
  subject: string;
  experimentKey: string | null;
  severity: string;
  message: string;
  data: unknown;
  firedAt: Date;
  resolvedAt: Date | null;
}

/** Per kind × subject: how many episodes were stored and the open one's key (the rules' history). */
export async function alertEpisodes(prisma: PrismaClient): Promise<Array<{ kind: string; subject: string; episodes: number; openKey: string | null }>> {
  return prisma.$queryRaw`
    SELECT kind, subject, count(*)::int AS episodes, max(key) FILTER (WHERE "resolvedAt" IS NULL) AS "openKey" FROM "Alert" GROUP BY kind, subject`;
}

/** Stores the alert unless its key is stored; true when this call stored it. */
export async function storeAlertOnce(
  prisma: PrismaClient,
  a: { key: string; kind: string; subject: string; experimentKey: string | null; severity: string; message: string; data: object },
): Promise<boolean> {
  const created = await prisma.alert.createMany({ data: [a], skipDuplicates: true });
  return created.count === 1;
}

/** Marks the open alerts with these keys resolved. */
export async function resolveAlerts(prisma: PrismaClient, keys: string[], at: Date): Promise<void> {
  if (keys.length) await prisma.alert.updateMany({ where: { key: { in: keys }, resolvedAt: null }, data: { resolvedAt: at } });
}

/**
 * Open alerts, and resolved ones whose resolution was not yet queued, oldest resolution first (at
 * most `limit` of each): found by state, not by age, so a scan after a long outage still announces.
 */
export async function alertsToSend(prisma: PrismaClient, limit: number): Promise<{ open: StoredAlert[]; resolved: StoredAlert[] }> {
  const open = await prisma.alert.findMany({ where: { resolvedAt: null }, take: limit });
  const resolved = await prisma.alert.findMany({ where: { resolvedAt: { not: null }, resolutionQueuedAt: null }, orderBy: { resolvedAt: 'asc' }, take: limit });
  return { open, resolved };
}

/** Records that the alert's resolution notices are queued (their idempotency keys dedupe a repeat). */
export async function markResolutionQueued(prisma: PrismaClient, key: string, at: Date): Promise<void> {
  await prisma.alert.update({ where: { key }, data: { resolutionQueuedAt: at } });
}
