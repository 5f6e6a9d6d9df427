/**
 * Decision notifications: one Notification row per decision and channel, keyed by an idempotency
 * key that is also the BullMQ job id, so a retried activity neither duplicates the row nor the job.
 * The notifications worker delivers to the experiment's webhook with retries.
 */
import { loadExperiment } from '../infra/experiment-repo.js';
import { readStep } from './cycle-store.js';
import type { DecidePayload } from './decide.js';
import type { ActivityDeps, CycleRef } from './deps.js';

export function notify(d: ActivityDeps) {
  return async ({ experimentKey, cycle }: CycleRef): Promise<{ enqueued: number }> => {
    const exp = await loadExperiment(d.prisma, experimentKey);
    const decision = await readStep<DecidePayload>(d.prisma, exp.id, cycle, 'decide');
    if (!decision) throw new Error(`cycle ${cycle}: decide must run before notify`);
    const url = exp.def.config.webhookUrl;
    if (!url) {
      await d.prisma.auditLog.upsert({
        where: { dedupeKey: `notify:${decision.decisionId}` },
        create: { actor: 'expflow', action: 'decision.recorded', target: experimentKey, reason: decision.rationale, dedupeKey: `notify:${decision.decisionId}`, data: { outcome: decision.outcome, cycle } },
        update: {},
      });
      return { enqueued: 0 };
    }
    const body = {
      type: 'expflow.decision',
      experiment: experimentKey,
      cycle,
      outcome: decision.outcome,
      winner: decision.winner,
      rationale: decision.rationale,
      segments: decision.segmentDecisions.filter((s) => s.outcome !== 'none').map((s) => ({ segment: s.segmentId, arm: s.arm, outcome: s.outcome, adjustedPValue: s.adjustedPValue })),
      srm: { pValue: decision.srm.pValue, alarm: decision.srm.alarm },
      decisionId: decision.decisionId,
    };
    await enqueueWebhook(d, { idempotencyKey: `decision-${decision.decisionId}-webhook`, decisionId: decision.decisionId, experimentKey, url, body });
    return { enqueued: 1 };
  };
}

/**
 * One Notification row and one BullMQ job per idempotency key (the job id), so a retried activity
 * neither duplicates the row nor the delivery.
 */
export async function enqueueWebhook(
  d: Pick<ActivityDeps, 'prisma' | 'queues'>,
  n: { idempotencyKey: string; decisionId: string | null; experimentKey: string; url: string; body: Record<string, unknown>; channel?: string },
): Promise<void> {
  const where = { idempotencyKey: n.idempotencyKey };
  let row;
  try {
    row = await d.prisma.notification.upsert({
      where,
      // "webhook" is the experiment's own webhook; alerts also go to the operators' ("ops-webhook").
      create: { decisionId: n.decisionId, experimentKey: n.experimentKey, channel: n.channel ?? 'webhook', idempotencyKey: n.idempotencyKey },
      update: {},
    });
  } catch (e) {
    // Prisma's upsert is a read then a write: a concurrent caller can insert in between.
    if ((e as { code?: string }).code !== 'P2002') throw e;
    row = await d.prisma.notification.findUniqueOrThrow({ where });
  }
  await d.queues.notifications.add('webhook', { notificationId: row.id, url: n.url, body: n.body }, { jobId: n.idempotencyKey });
}
