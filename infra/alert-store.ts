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

/** Open alerts and those resolved since `resolvedSince` (at most `limit` of each). */
export async function alertsToSend(prisma: PrismaClient, resolvedSince: Date, limit: number): Promise<{ open: StoredAlert[]; resolved: StoredAlert[] }> {
  const open = await prisma.alert.findMany({ where: { resolvedAt: null }, take: limit });
  const resolved = await prisma.alert.findMany({ where: { resolvedAt: { gte: resolvedSince } }, take: limit });
  return { open, resolved };
}
