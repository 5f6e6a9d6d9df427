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
    const idempotencyKey = `decision-${decision.decisionId}-webhook`;
    const row = await d.prisma.notification.upsert({
      where: { idempotencyKey },
      create: { decisionId: decision.decisionId, channel: 'webhook', idempotencyKey },
      update: {},
    });
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
    await d.queues.notifications.add('webhook', { notificationId: row.id, url, body }, { jobId: idempotencyKey });
    return { enqueued: 1 };
  };
}
