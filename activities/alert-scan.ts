/**
 * The alert scan, run by every worker on a timer (not a Temporal activity): observe (latest decisions, snapshots, webhook
 * deliveries, the events queue, each live workflow's last cycle error), apply the pure rules
 * (domain/alerts/rules.ts), store new alerts once (unique key) and hand them to the notification
 * queue with idempotency keys — the same rows, queue and delivery worker as decisions, so every
 * channel that carries decisions carries alerts and each reaches it exactly once.
 */
import type { Client } from '@temporalio/client';
import { alertAudience, alertConditions, planAlerts, type AlertThresholds, type ExperimentObservation, type Observations } from '../domain/alerts/rules.js';
import type { PrismaClient } from '../infra/prisma.js';
import type { Queues } from '../infra/queues.js';
import { enqueueNotification, routeFor } from './notify.js';
import { alertEpisodes, alertsToSend, markResolutionQueued, resolveAlerts, storeAlertOnce, type StoredAlert } from '../infra/alert-store.js';
import { observeLiveExperiments } from '../infra/alert-observations.js';
import { storedConfig } from '../infra/experiment-repo.js';
import { notificationExists } from '../infra/notification-store.js';
import { statusQuery } from '../workflows/experiment-messages.js';

export interface AlertScanDeps {
  prisma: PrismaClient;
  queues: Queues;
  /** Asks each live workflow for its last cycle error; without it cycle failures are not seen. */
  temporal?: Client;
  thresholds: AlertThresholds;
  /** Operators' webhook: every alert goes here as well. */
  opsWebhookUrl?: string;
  onFired?: (kind: string) => void;
  now?: () => Date;
}

/** Gathers what the rules look at. */
async function observe(d: AlertScanDeps): Promise<Observations> {
  const now = (d.now ?? (() => new Date()))().getTime();
  const [{ experiments: rows, decisions, stops, snapshots, deliveries }, waiting] = await Promise.all([observeLiveExperiments(d.prisma), d.queues.events.getJobs(['wait'], 0, 0, true)]);
  const decisionOf = new Map(decisions.map((x) => [x.experimentId, x]));
  const stoppedOf = new Map(stops.map((x) => [x.experimentId, x.stopped && typeof x.stopped === 'object' ? Object.keys(x.stopped) : []]));
  const snapshotOf = new Map(snapshots.map((x) => [x.experimentId, x.createdAt.getTime()]));
  const experiments: ExperimentObservation[] = await Promise.all(
    rows.map(async (r) => {
      const dec = decisionOf.get(r.id);
      const stats = (dec?.statistics ?? {}) as {
        srm?: { alarm?: boolean; pValue?: number };
        arms?: Array<{ arm: string; metric: string; role: string; harmful: boolean; estimate: number; adjustedP: number | null }>;
        stopArms?: Array<{ arm?: unknown }>;
      };
      return {
        key: r.key,
        status: r.status,
        cycleIntervalSeconds: Number((r.config as { cycleIntervalSeconds?: number } | null)?.cycleIntervalSeconds ?? 300),
        latestDecision: dec
          ? {
              cycle: dec.cycle,
              srm: stats.srm ? { alarm: stats.srm.alarm === true, pValue: Number(stats.srm.pValue ?? 1) } : null,
              guardrails: (stats.arms ?? []).filter((a) => a.role === 'guardrail').map((a) => ({ arm: a.arm, metric: a.metric, harmful: a.harmful === true, estimate: Number(a.estimate ?? 0), adjustedP: a.adjustedP ?? null })),
              stoppedArms: [...new Set([...(stoppedOf.get(r.id) ?? []), ...(stats.stopArms ?? []).flatMap((x) => (typeof x.arm === 'string' ? [x.arm] : []))])],
            }
          : null,
        latestSnapshotAt: snapshotOf.get(r.id) ?? null,
        lastError: await lastCycleError(d.temporal, r.key),
        recentDeliveries: deliveries
          .filter((n) => n.experimentKey === r.key)
          .map((n) => (n.status === 'delivered' ? 'delivered' : n.status === 'failed' ? 'failed' : n.attempts > 0 ? 'failing' : 'pending')),
      };
    }),
  );
  const oldest = waiting[0]?.timestamp;
  return { now, experiments, ingestOldestWaitingSeconds: oldest ? Math.max(0, (now - oldest) / 1000) : null };
}

async function lastCycleError(temporal: Client | undefined, key: string): Promise<ExperimentObservation['lastError']> {
  if (!temporal) return null;
  try {
    const status = await temporal.workflow.getHandle(`experiment-${key}`).query(statusQuery);
    return status.lastError ?? null;
  } catch {
    // Workflow gone or the worker busy: no evidence of a failed cycle from here.
    return null;
  }
}

/** One scan: raise new alerts (once each), resolve cleared ones, make sure every open alert is sent. */
export async function runAlertScan(d: AlertScanDeps): Promise<{ fired: string[]; resolved: string[] }> {
  const conditions = alertConditions(await observe(d), d.thresholds);
  const plan = planAlerts(conditions, await alertEpisodes(d.prisma));
  const fired: string[] = [];
  for (const a of plan.fire) {
    if (await storeAlertOnce(d.prisma, { key: a.key, kind: a.kind, subject: a.subject, experimentKey: a.experimentKey, severity: a.severity, message: a.message, data: a.data as object })) {
      fired.push(a.key);
      d.onFired?.(a.kind);
    }
  }
  const now = (d.now ?? (() => new Date()))();
  await resolveAlerts(d.prisma, plan.resolve, now);
  // Every open alert, and every resolution not yet marked queued, has its notifications queued;
  // idempotency keys make repeats no-ops, and a scan that crashed (or could not reach Redis)
  // between storing an alert or its resolution and queueing it is completed by the next ones,
  // however long later: resolutions are found by state, not by age, oldest first.
  const { open, resolved } = await alertsToSend(d.prisma, BATCH);
  for (const a of open) await sendAlert(d, a);
  for (const a of resolved) {
    await sendAlert(d, a);
    await markResolutionQueued(d.prisma, a.key, now);
  }
  return { fired, resolved: plan.resolve };
}

/** Alerts (open, or resolved and not yet announced) one scan queues at most; the next scan takes the rest. */
const BATCH = 500;

/** Queues the alert (or, once resolved, its resolution) to its audience (alertAudience). */
async function sendAlert(d: AlertScanDeps, a: StoredAlert) {
  const fields = { alert: a.kind, key: a.key, severity: a.severity, experiment: a.experimentKey, subject: a.subject, message: a.message, data: a.data, firedAt: a.firedAt.toISOString() };
  const body = a.resolvedAt
    ? { type: 'expflow.alert_resolved', ...fields, resolvedAt: a.resolvedAt.toISOString(), message: `resolved: ${a.message}` }
    : { type: 'expflow.alert', ...fields };
  const prefix = a.resolvedAt ? `alert-${a.key}-resolved` : `alert-${a.key}`;
  const audience = alertAudience(a);
  const deliveries: Array<{ channel: 'webhook' | 'slack' | 'email'; url: string; idempotencyKey: string }> = [];
  if (audience.ops && d.opsWebhookUrl) deliveries.push({ channel: 'webhook', url: d.opsWebhookUrl, idempotencyKey: `${prefix}-ops` });
  if (audience.experiment && a.experimentKey) {
    const config = await storedConfig(d.prisma, a.experimentKey);
    if (config) deliveries.push(...routeFor(config, [{ event: 'alert', key: '', body }], prefix));
  }
  for (const t of deliveries) {
    if (await notificationExists(d.prisma, t.idempotencyKey)) continue;
    await enqueueNotification(d, { idempotencyKey: t.idempotencyKey, decisionId: null, experimentKey: a.experimentKey ?? '', url: t.url, body, channel: t.channel });
  }
}

/** The scan's dependencies with fired alerts counted in the worker's metrics. */
export function alertScanLoopDeps(d: Omit<AlertScanDeps, 'onFired'>, metrics: { alert(kind: string): void }): AlertScanDeps {
  return { ...d, onFired: (kind) => metrics.alert(kind) };
}
