/**
 * Reaction rules: an experiment's config says which external signals dampen its test traffic, e.g.
 * `{signal: "news.sentiment", below: -0.5, dampen: 0.5, halfLifeSeconds: 3600}`. A rule's `signal`
 * names a signal id (`source.name`) or just its name. Matching is strict: `below` means value <
 * below, `above` means value > above; with both, either side fires.
 */
import { z } from 'zod';
import { signalId, type ContextSignal } from './signals.js';

export const reactionRuleSchema = z
  .object({
    signal: z.string().min(1).max(200),
    below: z.number().finite().optional(),
    above: z.number().finite().optional(),
    /** Fraction of test traffic moved to control right after the rule fires (the dampening severity). */
    dampen: z.number().gt(0).max(1),
    halfLifeSeconds: z.number().positive().max(30 * 86_400).default(3600),
  })
  .refine((r) => r.below !== undefined || r.above !== undefined, { message: 'a rule needs below or above', path: ['below'] });

export type ReactionRule = z.infer<typeof reactionRuleSchema>;

/** What a fired rule asks of an experiment: an external-context event for its workflow. */
export interface Reaction {
  ruleIndex: number;
  kind: string;
  severity: number;
  halfLifeSeconds: number;
}

/** The rules a signal value fires, in rule order. */
export function matchReactionRules(rules: readonly ReactionRule[], signal: Pick<ContextSignal, 'source' | 'name' | 'value'>): Reaction[] {
  const id = signalId(signal);
  const out: Reaction[] = [];
  rules.forEach((r, ruleIndex) => {
    if (r.signal !== id && r.signal !== signal.name) return;
    const low = r.below !== undefined && signal.value < r.below;
    const high = r.above !== undefined && signal.value > r.above;
    if (!low && !high) return;
    const kind = low ? `signal ${id} = ${signal.value} below ${r.below}` : `signal ${id} = ${signal.value} above ${r.above}`;
    out.push({ ruleIndex, kind, severity: r.dampen, halfLifeSeconds: r.halfLifeSeconds });
  });
  return out;
}

/** One experiment's rules, as configured. */
export interface ExperimentRules {
  experimentKey: string;
  rules: readonly ReactionRule[];
}

export interface PlannedReaction extends Reaction {
  experimentKey: string;
  signal: ContextSignal;
}

/**
 * Which experiments a batch of signals dampens. A signal concerns an experiment when its scope is
 * global or lists the experiment; attribute-scoped signals describe some units, not the whole
 * experiment's traffic, so they feed those units' features but fire no experiment-wide rule.
 * Per (experiment, rule) only the newest firing signal counts, so a batch of history fires once.
 */
export function planReactions(experiments: readonly ExperimentRules[], signals: readonly ContextSignal[]): PlannedReaction[] {
  const byRule = new Map<string, PlannedReaction>();
  for (const exp of experiments) {
    for (const s of signals) {
      if (s.scope.kind === 'attributes') continue;
      if (s.scope.kind === 'experiments' && !s.scope.experiments.includes(exp.experimentKey)) continue;
      for (const r of matchReactionRules(exp.rules, s)) {
        const k = `${exp.experimentKey}\u001f${r.ruleIndex}`;
        const cur = byRule.get(k);
        if (!cur || Date.parse(s.timestamp) > Date.parse(cur.signal.timestamp)) byRule.set(k, { ...r, experimentKey: exp.experimentKey, signal: s });
      }
    }
  }
  return [...byRule.values()];
}
