/**
 * When to alert: pure rules over what the alert scan observed. Each rule yields the conditions that
 * hold now; planAlerts turns them into alerts to raise (one per episode of a condition, keyed
 * "<kind>:<subject>:<episode>" so scans racing in several workers raise it once) and open alerts
 * to resolve (their condition no longer holds). A condition that stays true raises nothing new.
 * alertAudience says who hears of an alert, so no event reaches a person twice.
 */
import { assertNever } from '../assert-never.js';

export type AlertKind = 'srm' | 'guardrail' | 'cycle_failed' | 'webhook_failing' | 'ingest_lag' | 'snapshot_stale';
export type AlertSeverity = 'critical' | 'warning';

export interface AlertThresholds {
  ingestLagSeconds: number;
  snapshotStaleCycles: number;
  webhookFailures: number;
}

/** One experiment as the scan sees it. */
export interface ExperimentObservation {
  key: string;
  status: 'draft' | 'running' | 'paused' | 'concluded' | 'stopped';
  cycleIntervalSeconds: number;
  latestDecision: {
    cycle: number;
    srm: { alarm: boolean; pValue: number } | null;
    /** Guardrail results of that decision (always-valid, Holm-adjusted, beyond the margin). */
    guardrails: Array<{ arm: string; metric: string; harmful: boolean; estimate: number; adjustedP: number | null }>;
    /** Arms the circuit breaker has stopped so far: the decide step announced each (arm_stopped). */
    stoppedArms: string[];
  } | null;
  /** Epoch ms of the newest allocation snapshot. */
  latestSnapshotAt: number | null;
  /** The workflow's last cycle that failed after its activity retries (null once it recovered). */
  lastError: { cycle: number; message: string; at: string } | null;
  /** The experiment's own webhook deliveries, newest first: settled or still failing. */
  recentDeliveries: Array<'delivered' | 'failed' | 'failing' | 'pending'>;
}

export interface Observations {
  now: number;
  experiments: ExperimentObservation[];
  /** Age of the oldest batch waiting in the events queue, seconds; null when none waits. */
  ingestOldestWaitingSeconds: number | null;
}

export interface AlertCondition {
  kind: AlertKind;
  /** What the alert is about: an experiment key (with arm/metric), or a system component. */
  subject: string;
  experimentKey: string | null;
  severity: AlertSeverity;
  message: string;
  data: Record<string, unknown>;
}

/** Every alert condition that holds in `obs`. */
export function alertConditions(obs: Observations, t: AlertThresholds): AlertCondition[] {
  const out: AlertCondition[] = [];
  for (const e of obs.experiments) {
    const live = e.status === 'running' || e.status === 'paused';
    const d = e.latestDecision;
    if (live && d?.srm?.alarm) {
      out.push({
        kind: 'srm',
        subject: e.key,
        experimentKey: e.key,
        severity: 'critical',
        message: `${e.key}: sample-ratio mismatch at cycle ${d.cycle} (p=${d.srm.pValue.toExponential(2)}); the experiment will not ship until it clears`,
        // The decide step sends srm_alarm to the experiment's channels when the alarm starts.
        data: { cycle: d.cycle, pValue: d.srm.pValue, announcedByDecision: true },
      });
    }
    for (const g of live && d ? d.guardrails : []) {
      if (!g.harmful || !d) continue;
      out.push({
        kind: 'guardrail',
        subject: `${e.key}/${g.arm}/${g.metric}`,
        experimentKey: e.key,
        severity: 'critical',
        message: `${e.key}: ${g.arm} breaches guardrail ${g.metric} at cycle ${d.cycle} (estimate ${g.estimate.toPrecision(3)}, adjusted p=${g.adjustedP === null ? 'n/a' : g.adjustedP.toPrecision(3)})`,
        data: { cycle: d.cycle, arm: g.arm, metric: g.metric, estimate: g.estimate, adjustedP: g.adjustedP, announcedByDecision: d.stoppedArms.includes(g.arm) },
      });
    }
    if (live && e.lastError) {
      out.push({
        kind: 'cycle_failed',
        subject: e.key,
        experimentKey: e.key,
        severity: 'critical',
        message: `${e.key}: cycle ${e.lastError.cycle} failed after its retries: ${e.lastError.message}`,
        data: { ...e.lastError },
      });
    }
    const recent = e.recentDeliveries.filter((s) => s !== 'pending').slice(0, t.webhookFailures);
    if (recent.length >= t.webhookFailures && recent.every((s) => s === 'failed' || s === 'failing')) {
      out.push({
        kind: 'webhook_failing',
        subject: e.key,
        experimentKey: e.key,
        severity: 'warning',
        message: `${e.key}: its webhook failed its last ${recent.length} deliveries`,
        data: { failures: recent.length },
      });
    }
    const staleAfterMs = t.snapshotStaleCycles * e.cycleIntervalSeconds * 1000;
    if (e.status === 'running' && e.latestSnapshotAt !== null && obs.now - e.latestSnapshotAt > staleAfterMs) {
      out.push({
        kind: 'snapshot_stale',
        subject: e.key,
        experimentKey: e.key,
        severity: 'warning',
        message: `${e.key}: no new allocation snapshot for ${Math.round((obs.now - e.latestSnapshotAt) / 1000)} s (expected one every ${e.cycleIntervalSeconds} s)`,
        data: { ageSeconds: Math.round((obs.now - e.latestSnapshotAt) / 1000), cycleIntervalSeconds: e.cycleIntervalSeconds },
      });
    }
  }
  if (obs.ingestOldestWaitingSeconds !== null && obs.ingestOldestWaitingSeconds > t.ingestLagSeconds) {
    out.push({
      kind: 'ingest_lag',
      subject: 'events-queue',
      experimentKey: null,
      severity: 'warning',
      message: `ingestion lag: the oldest queued batch has waited ${Math.round(obs.ingestOldestWaitingSeconds)} s (threshold ${t.ingestLagSeconds} s)`,
      data: { lagSeconds: obs.ingestOldestWaitingSeconds, threshold: t.ingestLagSeconds },
    });
  }
  return out;
}

/** What is stored about earlier alerts of one kind × subject. */
export interface AlertHistory {
  kind: string;
  subject: string;
  /** Alerts raised so far for this kind × subject. */
  episodes: number;
  /** The key of the one still open, if any. */
  openKey: string | null;
}

export interface AlertPlan {
  fire: Array<AlertCondition & { key: string }>;
  resolve: string[];
}

function alertKey(kind: string, subject: string, episode: number): string {
  return `${kind}:${subject}:${episode}`;
}

/** Raise a new episode for each condition without an open alert; resolve open alerts whose condition is gone. */
export function planAlerts(conditions: readonly AlertCondition[], history: readonly AlertHistory[]): AlertPlan {
  const byId = new Map(history.map((h) => [`${h.kind}\u0000${h.subject}`, h]));
  const holding = new Set(conditions.map((c) => `${c.kind}\u0000${c.subject}`));
  const fire: AlertPlan['fire'] = [];
  for (const c of conditions) {
    const h = byId.get(`${c.kind}\u0000${c.subject}`);
    if (h?.openKey) continue;
    fire.push({ ...c, key: alertKey(c.kind, c.subject, (h?.episodes ?? 0) + 1) });
  }
  const resolve = history.flatMap((h) => (h.openKey !== null && !holding.has(`${h.kind}\u0000${h.subject}`) ? [h.openKey] : []));
  return { fire, resolve };
}

/**
 * Who hears of an alert (and of its resolution). The operators' webhook (ALERT_WEBHOOK_URL) hears
 * of every alert; the decision pipeline never writes there. The experiment's own channels hear of
 * it unless another message already told them, so one event reaches a channel once:
 * - srm: the decide step sends srm_alarm when the alarm starts (it also holds the decision);
 * - guardrail: the decide step sends arm_stopped when its circuit breaker stops the arm; a breach
 *   it does not stop (stopOnGuardrail off, an exempt arm) is told by the alert;
 * - webhook_failing: never to the experiment (its endpoint is the broken one);
 * - cycle_failed, snapshot_stale: by the alert (no decision announces them);
 * - ingest_lag: system-wide, operators only.
 */
export function alertAudience(a: { kind: string; experimentKey: string | null; data: unknown }): { ops: boolean; experiment: boolean } {
  const kind = a.kind as AlertKind;
  const announced = (a.data as { announcedByDecision?: unknown } | null)?.announcedByDecision === true;
  const own = a.experimentKey !== null;
  switch (kind) {
    case 'srm':
    case 'guardrail':
      return { ops: true, experiment: own && !announced };
    case 'webhook_failing':
    case 'ingest_lag':
      return { ops: true, experiment: false };
    case 'cycle_failed':
    case 'snapshot_stale':
      return { ops: true, experiment: own };
    default:
      return assertNever(kind);
  }
}
