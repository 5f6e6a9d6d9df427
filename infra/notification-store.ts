/** Notification rows: one per idempotency key, whatever the channel; their deliveries are queued jobs (infra/webhook-delivery.ts). */
import type { PrismaClient } from './prisma.js';

export interface NotificationRecord {
  idempotencyKey: string;
  decisionId: string | null;
  experimentKey: string;
  channel: string;
}

/** The row for the key, created unless one exists; returns its id. */
export async function notificationOnce(prisma: PrismaClient, n: NotificationRecord): Promise<string> {
  const where = { idempotencyKey: n.idempotencyKey };
  try {
    return (await prisma.notification.upsert({ where, create: n, update: {}, select: { id: true } })).id;
  } catch (e) {
    // Prisma's upsert is a read then a write: a concurrent caller can insert in between.
    if ((e as { code?: string }).code !== 'P2002') throw e;
    return (await prisma.notification.findUniqueOrThrow({ where, select: { id: true } })).id;
  }
}

/** Whether a notification with this key is stored. */
export async function notificationExists(prisma: PrismaClient, idempotencyKey: string): Promise<boolean> {
  return (await prisma.notification.findUnique({ where: { idempotencyKey }, select: { id: true } })) !== null;
}
