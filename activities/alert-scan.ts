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
import { experimentConfigSchema } from '../domain/experiment/config.js';
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

const DELIVERY_WINDOW = 20;

/** Gathers what the rules look at. */
async function observe(d: AlertScanDeps): Promise<Observations> {
  const now = (d.now ?? (() => new Date()))().getTime();
  const rows = await d.prisma.experiment.findMany({ where: { status: { in: ['running', 'paused'] } }, select: { id: true, key: true, status: true, config: true } });
  const ids = rows.map((r) => r.id);
  const keys = rows.map((r) => r.key);
  const [decisions, stops, snapshots, deliveries, waiting] = await Promise.all([
    ids.length
      ? d.prisma.$queryRaw<Array<{ experimentId: string; cycle: number; statistics: unknown }>>`
          SELECT DISTINCT ON ("experimentId") "experimentId", cycle, statistics FROM "Decision"
          WHERE "experimentId" = ANY(${ids}::uuid[]) ORDER BY "experimentId", cycle DESC`
      : [],
    // Arms the circuit breaker has stopped (cumulative, in the latest decide step's payload).
    ids.length
      ? d.prisma.$queryRaw<Array<{ experimentId: string; stopped: unknown }>>`
          SELECT DISTINCT ON ("experimentId") "experimentId", payload -> 'stoppedArms' AS stopped FROM "CycleStats"
          WHERE "experimentId" = ANY(${ids}::uuid[]) AND step = 'decide' ORDER BY "experimentId", cycle DESC`
      : [],
    ids.length
      ? d.prisma.$queryRaw<Array<{ experimentId: string; createdAt: Date }>>`
          SELECT "experimentId", max("createdAt") AS "createdAt" FROM "AllocationSnapshot" WHERE "experimentId" = ANY(${ids}::uuid[]) GROUP BY 1`
      : [],
    keys.length
      ? d.prisma.$queryRaw<Array<{ experimentKey: string; status: string; attempts: number }>>`
          SELECT "experimentKey", status::text, attempts FROM (
            SELECT "experimentKey", status, attempts, row_number() OVER (PARTITION BY "experimentKey" ORDER BY "createdAt" DESC) AS rn
            FROM "Notification" WHERE channel = 'webhook' AND "experimentKey" = ANY(${keys}::text[]) AND "idempotencyKey" NOT LIKE 'alert-%'
          ) n WHERE rn <= ${DELIVERY_WINDOW} ORDER BY "experimentKey", rn`
      : [],
    d.queues.events.getJobs(['wait'], 0, 0, true),
  ]);
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
  const history = await d.prisma.$queryRaw<Array<{ kind: string; subject: string; episodes: number; openKey: string | null }>>`
    SELECT kind, subject, count(*)::int AS episodes, max(key) FILTER (WHERE "resolvedAt" IS NULL) AS "openKey" FROM "Alert" GROUP BY kind, subject`;
  const plan = planAlerts(conditions, history);
  const fired: string[] = [];
  for (const a of plan.fire) {
    const created = await d.prisma.alert.createMany({
      data: [{ key: a.key, kind: a.kind, subject: a.subject, experimentKey: a.experimentKey, severity: a.severity, message: a.message, data: a.data as object }],
      skipDuplicates: true,
    });
    if (created.count === 1) {
      fired.push(a.key);
      d.onFired?.(a.kind);
    }
  }
  const now = (d.now ?? (() => new Date()))();
  if (plan.resolve.length) {
    await d.prisma.alert.updateMany({ where: { key: { in: plan.resolve }, resolvedAt: null }, data: { resolvedAt: now } });
  }
  // Every open alert, and every resolution not yet marked queued, has its notifications queued;
  // idempotency keys make repeats no-ops, and a scan that crashed (or could not reach Redis)
  // between storing an alert or its resolution and queueing it is completed by the next ones,
  // however long later: resolutions are found by state, not by age, oldest first.
  const open = await d.prisma.alert.findMany({ where: { resolvedAt: null }, take: BATCH });
  for (const a of open) await sendAlert(d, a);
  const unannounced = await d.prisma.alert.findMany({ where: { resolvedAt: { not: null }, resolutionQueuedAt: null }, orderBy: { resolvedAt: 'asc' }, take: BATCH });
  for (const a of unannounced) {
    await sendAlert(d, a);
    await d.prisma.alert.update({ where: { key: a.key }, data: { resolutionQueuedAt: now } });
  }
  return { fired, resolved: plan.resolve };
}

/** Alerts (open, or resolved and not yet announced) one scan queues at most; the next scan takes the rest. */
const BATCH = 500;

type StoredAlert = { key: string; kind: string; subject: string; experimentKey: string | null; severity: string; message: string; data: unknown; firedAt: Date; resolvedAt: Date | null };

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
    const exp = await d.prisma.experiment.findUnique({ where: { key: a.experimentKey }, select: { config: true } });
    const parsed = exp ? experimentConfigSchema.safeParse(exp.config) : null;
    if (parsed?.success) deliveries.push(...routeFor(parsed.data, [{ event: 'alert', key: '', body }], prefix));
  }
  for (const t of deliveries) {
    if (await d.prisma.notification.findUnique({ where: { idempotencyKey: t.idempotencyKey }, select: { id: true } })) continue;
    await enqueueNotification(d, { idempotencyKey: t.idempotencyKey, decisionId: null, experimentKey: a.experimentKey ?? '', url: t.url, body, channel: t.channel });
  }
}

/** The scan's dependencies with fired alerts counted in the worker's metrics. */
export function alertScanLoopDeps(d: Omit<AlertScanDeps, 'onFired'>, metrics: { alert(kind: string): void }): AlertScanDeps {
  return { ...d, onFired: (kind) => metrics.alert(kind) };
}
