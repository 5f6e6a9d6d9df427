/**
 * Delivers one notification to a webhook. BullMQ retries with backoff when this throws; the
 * Notification row records attempts and the outcome. Receivers get the idempotency key in a header
 * so a redelivery after a lost acknowledgement can be ignored.
 */
import type { PrismaClient } from './prisma.js';
import type { NotificationJob } from './queues.js';

export async function deliverNotification(
  prisma: PrismaClient,
  job: NotificationJob,
  opts: { finalAttempt: boolean; timeoutMs?: number },
): Promise<void> {
  const row = await prisma.notification.findUnique({ where: { id: job.notificationId } });
  if (!row || row.status === 'delivered') return;
  let error: string | null = null;
  try {
    const res = await fetch(job.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-expflow-idempotency-key': row.idempotencyKey },
      body: JSON.stringify(job.body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    });
    if (!res.ok) error = `HTTP ${res.status}`;
  } catch (e) {
    error = (e as Error).message;
  }
  await prisma.notification.update({
    where: { id: row.id },
    data: {
      attempts: { increment: 1 },
      status: error === null ? 'delivered' : opts.finalAttempt ? 'failed' : 'pending',
      lastError: error,
      deliveredAt: error === null ? new Date() : null,
    },
  });
  if (error !== null) throw new Error(`webhook ${job.url} failed: ${error}`);
}
