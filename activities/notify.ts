/**
 * Decision notifications: the decision (or new segment conclusions), each arm the circuit breaker
 * stopped, and a new sample-ratio alarm, each routed to the experiment's channels that want its
 * event type. One Notification row per event × channel, keyed by an idempotency key that is also the
 * BullMQ job id, so a retried activity neither duplicates the row nor the job. The notifications
 * worker delivers with retries (infra/webhook-delivery.ts).
 */
import { routeEvents, type Delivery, type OutgoingEvent } from '../domain/notifications/channels.js';
import type { ExperimentConfig } from '../domain/experiment/config.js';
import { loadExperiment } from '../infra/experiment-repo.js';
import { auditOnce } from '../infra/audit-log.js';
import { notificationOnce } from '../infra/notification-store.js';
import { readStep } from '../infra/cycle-store.js';
import type { DecidePayload } from './decide.js';
import { decidePayloadSchema } from './step-payloads.js';
import type { ActivityDeps, CycleRef } from './deps.js';

export function notify(d: ActivityDeps) {
  return async ({ experimentKey, cycle }: CycleRef): Promise<{ enqueued: number }> => {
    const exp = await loadExperiment(d.prisma, experimentKey);
    const stepRef = { prisma: d.prisma, experimentId: exp.id, cycle };
    const decision = await readStep(stepRef, 'decide', decidePayloadSchema);
    if (!decision) throw new Error(`cycle ${cycle}: decide must run before notify`);
    const events = decisionEvents(experimentKey, cycle, decision);
    const deliveries = routeFor(exp.def.config, events, `decision-${decision.decisionId}`);
    if (!deliveries.length) {
      await auditOnce(d.prisma, { actor: 'expflow', action: 'decision.recorded', target: experimentKey, reason: decision.rationale, dedupeKey: `notify:${decision.decisionId}`, data: { outcome: decision.outcome, cycle } });
      return { enqueued: 0 };
    }
    for (const x of deliveries) await enqueueNotification(d, { ...x, decisionId: decision.decisionId, experimentKey });
    return { enqueued: deliveries.length };
  };
}

/** What a decision announces: the decision itself when final or new segment conclusions exist, and its alerts. */
function decisionEvents(experimentKey: string, cycle: number, decision: DecidePayload): OutgoingEvent[] {
  const events: OutgoingEvent[] = [];
  if (decision.outcome !== 'continue' || decision.newSegmentConclusions > 0) {
    events.push({
      event: decision.outcome === 'continue' ? 'segment_conclusion' : 'decision',
      key: '',
      body: {
        type: 'expflow.decision',
        experiment: experimentKey,
        cycle,
        outcome: decision.outcome,
        winner: decision.winner,
        rationale: decision.rationale,
        segments: decision.segmentDecisions.filter((s) => s.outcome !== 'none').map((s) => ({ segment: s.segmentId, arm: s.arm, outcome: s.outcome, adjustedPValue: s.adjustedPValue })),
        srm: { pValue: decision.srm.pValue, alarm: decision.srm.alarm },
        decisionId: decision.decisionId,
      },
    });
  }
  for (const arm of decision.newlyStopped ?? []) {
    const stop = decision.stoppedArms?.[arm];
    events.push({
      event: 'arm_stopped',
      key: `arm-${arm}`,
      body: { type: 'expflow.arm_stopped', experiment: experimentKey, cycle, arm, rule: stop?.rule ?? 'guardrail', reason: stop?.reason ?? '', decisionId: decision.decisionId },
    });
  }
  if (decision.srmAlarmSince === cycle) {
    events.push({
      event: 'srm_alarm',
      key: 'srm',
      body: {
        type: 'expflow.srm_alarm',
        experiment: experimentKey,
        cycle,
        pValue: decision.srm.pValue,
        observed: decision.srm.observed,
        expected: decision.srm.expected,
        reason: `sample-ratio mismatch (p=${decision.srm.pValue.toExponential(2)} < ${decision.srm.threshold}): decisions are held until it clears or is acknowledged`,
        decisionId: decision.decisionId,
      },
    });
  }
  return events;
}

/** The experiment's deliveries for these events (its channels, plus the legacy webhookUrl). */
export function routeFor(config: ExperimentConfig, events: OutgoingEvent[], keyPrefix: string): Delivery[] {
  return routeEvents({ channels: config.notifications?.channels ?? [], legacyWebhookUrl: config.webhookUrl, events, keyPrefix });
}

/**
 * One Notification row and one BullMQ job per idempotency key (the job id), so a retried activity
 * neither duplicates the row nor the delivery.
 */
export async function enqueueNotification(
  d: Pick<ActivityDeps, 'prisma' | 'queues'>,
  n: { idempotencyKey: string; decisionId: string | null; experimentKey: string; url: string; body: Record<string, unknown>; channel?: Delivery['channel'] },
): Promise<void> {
  const channel = n.channel ?? 'webhook';
  const id = await notificationOnce(d.prisma, { idempotencyKey: n.idempotencyKey, decisionId: n.decisionId, experimentKey: n.experimentKey, channel });
  await d.queues.notifications.add(channel, { notificationId: id, url: n.url, body: n.body, ...(channel === 'webhook' ? {} : { channel }) }, { jobId: n.idempotencyKey });
}
