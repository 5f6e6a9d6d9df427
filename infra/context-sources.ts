/** Registered pull sources (ContextSource rows): what to poll, and how the last polls went. */
import type { PrismaClient } from './prisma.js';

/** The source's row, or null when it is not registered. */
export async function loadContextSource(prisma: PrismaClient, key: string) {
  return prisma.contextSource.findUnique({ where: { key } });
}

/** Records a poll that succeeded: when, how many signals it stored, what could not be read (null: nothing). */
export async function recordPoll(prisma: PrismaClient, key: string, poll: { at: Date; signals: number; problems: string | null }): Promise<void> {
  await prisma.contextSource.update({ where: { key }, data: { lastPolledAt: poll.at, lastSignals: poll.signals, lastError: poll.problems, failures: 0 } });
}

/**
 * Records a poll that failed after its retries, on the source and in the audit log, together and
 * once per dedupe key (a retried activity records nothing new; a deleted source records nothing).
 */
export async function recordPollFailureOnce(prisma: PrismaClient, key: string, message: string, dedupeKey: string): Promise<void> {
  const reason = message.slice(0, 1000);
  await prisma.$transaction(async (tx) => {
    if (await tx.auditLog.findUnique({ where: { dedupeKey }, select: { id: true } })) return;
    const updated = await tx.contextSource.updateMany({ where: { key }, data: { lastError: reason, failures: { increment: 1 } } });
    if (!updated.count) return;
    await tx.auditLog.create({ data: { actor: 'expflow', action: 'context.source_failed', target: `context-source:${key}`, reason, dedupeKey } });
  });
}
