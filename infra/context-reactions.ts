/**
 * Delivers reaction rules: signals that fire a running experiment's rule reach its workflow as the
 * same `externalContext` signal the manual endpoint sends (dampening with the rule's half-life),
 * with an audit entry. A rule fires at most once per half-life per experiment (a Redis key with
 * that TTL), so a feed that keeps reporting bad news sustains the dampening instead of compounding
 * it every poll. Used by POST /context and by the source-polling activity.
 */
import type { Client } from '@temporalio/client';
import type { Redis } from 'ioredis';
import { planReactions, reactionRuleSchema, type ExperimentRules } from '../domain/context/reaction-rules.js';
import { isCurrent, scopeKey, signalId, type ContextSignal } from '../domain/context/signals.js';
import { externalContextSignal } from '../workflows/experiment-messages.js';
import type { PrismaClient } from './prisma.js';

export interface ReactionDeps {
  prisma: PrismaClient;
  redis: Redis;
  temporal: Client;
  now?: () => Date;
}

export interface DeliveredReaction {
  experiment: string;
  signal: string;
  value: number;
  rule: number;
  severity: number;
  halfLifeSeconds: number;
  /** `signalled`, or why not: fired within its half-life already, or the workflow is not running. */
  outcome: 'signalled' | 'throttled' | 'not_running';
}

const firedKey = (experiment: string, rule: number) => `expflow:context:fired:${experiment}:${rule}`;

/** Running experiments with reaction rules (rules that no longer parse are skipped, not fatal). */
async function experimentsWithRules(prisma: PrismaClient): Promise<ExperimentRules[]> {
  const rows = await prisma.experiment.findMany({ where: { status: 'running' }, select: { key: true, config: true } });
  const out: ExperimentRules[] = [];
  for (const r of rows) {
    const raw = (r.config as { reactionRules?: unknown } | null)?.reactionRules;
    if (!Array.isArray(raw) || !raw.length) continue;
    const rules = reactionRuleSchema.array().safeParse(raw);
    if (rules.success) out.push({ experimentKey: r.key, rules: rules.data });
  }
  return out;
}

export async function reactToSignals(d: ReactionDeps, signals: readonly ContextSignal[], actor: string): Promise<DeliveredReaction[]> {
  const nowMs = (d.now ?? (() => new Date()))().getTime();
  const live = signals.filter((s) => isCurrent(s, nowMs) && s.scope.kind !== 'attributes');
  if (!live.length) return [];
  const plan = planReactions(await experimentsWithRules(d.prisma), live);
  const out: DeliveredReaction[] = [];
  for (const p of plan) {
    const base = { experiment: p.experimentKey, signal: signalId(p.signal), value: p.signal.value, rule: p.ruleIndex, severity: p.severity, halfLifeSeconds: p.halfLifeSeconds };
    const key = firedKey(p.experimentKey, p.ruleIndex);
    if ((await d.redis.set(key, p.signal.timestamp, 'PX', Math.round(p.halfLifeSeconds * 1000), 'NX')) !== 'OK') {
      out.push({ ...base, outcome: 'throttled' });
      continue;
    }
    try {
      await d.temporal.workflow
        .getHandle(`experiment-${p.experimentKey}`)
        .signal(externalContextSignal, { kind: p.kind, severity: p.severity, halfLifeSeconds: p.halfLifeSeconds });
    } catch (e) {
      await d.redis.del(key);
      if ((e as Error).name === 'WorkflowNotFoundError') {
        out.push({ ...base, outcome: 'not_running' });
        continue;
      }
      throw e;
    }
    const dedupeKey = `dampen:${p.experimentKey}:${p.ruleIndex}:${base.signal}:${scopeKey(p.signal.scope)}:${p.signal.timestamp}`;
    await d.prisma.auditLog.upsert({
      where: { dedupeKey },
      create: {
        actor,
        action: 'experiment.dampen',
        target: p.experimentKey,
        reason: `reaction rule ${p.ruleIndex}: ${p.kind}; dampen ${p.severity} with half-life ${p.halfLifeSeconds}s`,
        data: { ...base, timestamp: p.signal.timestamp, source: p.signal.source, name: p.signal.name },
        dedupeKey,
      },
      update: {},
    });
    out.push({ ...base, outcome: 'signalled' });
  }
  return out;
}
