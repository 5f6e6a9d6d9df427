/**
 * The per-cycle decision, composed of the policy's rules (each a pure function returning its
 * rationale with its numbers):
 *   readiness       minimum sample (before anything) and minimum runtime (before ship/inconclusive);
 *   srm             an unacknowledged sample-ratio alarm holds every decision but harm protection;
 *   guardrail       circuit breaker: an arm breaching a guardrail (relative margin or absolute limit)
 *                   is stopped — routed to control — and the others continue;
 *   harm            an arm significantly worse on the primary metric is stopped likewise;
 *   rollback        every treatment arm stopped: `stop_harm`, all traffic back to control;
 *   method          sequential (always-valid, Holm across arms × metrics), fixed horizon (planned
 *                   sample size, O'Brien–Fleming interim looks) or Bayesian (chance to win, expected loss);
 *   practical significance  ship only if the lift's interval clears the configured minimum;
 *   horizon         at maxSamplePerArm (or the fixed horizon's final look) without a winner:
 *                   futility when no arm points the good way, else inconclusive.
 * Guardrails are always judged on always-valid intervals, whatever the method, so the breaker may
 * look at every cycle.
 */
import { addMoments, emptyMoments } from '../stats/moments.js';
import type { CellStats } from '../types.js';
import { adjustFamily, analyzeArms, classify, goodLift } from './analyze-arms.js';
import { armWeightActions, type WeightAction } from './arm-weights.js';
import { bayesianArm, bayesianVerdict, probabilityBestByArm } from './bayesian-evidence.js';
import { advanceLooks, designPower, detectableLift, fixedHorizonArm, planPower, planSamplePerArm, type FixedHorizonPlan } from './fixed-horizon.js';
import { guardrailBreaches } from './guardrails.js';
import { toJsonSafe } from '../json-safe.js';
import { PRESET_POLICIES, type DecisionPolicy } from './policy.js';
import { clearsMinimumLift } from './practical-significance.js';
import { checkReadiness } from './readiness.js';
import { fmt, pct, type RuleNote } from './rule-note.js';
import { holdForSampleRatio } from './srm-hold.js';
import type { ArmMetricResult, ArmStop, DecideExperimentInput, DecisionOutcome, ExperimentDecision } from './types.js';

interface PrimaryEvidence {
  arm: string;
  better: boolean;
  harmful: boolean;
  relativeCi: [number, number] | null;
  lift: number;
  note: RuleNote;
}

/** Decides the whole experiment for this look. */
export function decideExperiment(input: DecideExperimentInput): ExperimentDecision {
  const policy: DecisionPolicy = input.policy ?? PRESET_POLICIES.balanced;
  const arms = analyzeArms(input);
  adjustFamily(arms, 'holm');
  classify(arms, input.metrics, input.alpha);
  const notes: RuleNote[] = [];
  const done = (v: { outcome: DecisionOutcome; winner?: string; rationale: string }, extra: { stopArms?: ArmStop[]; weightActions?: WeightAction[]; srmHold?: boolean; plan?: FixedHorizonPlan | null } = {}): ExperimentDecision =>
    toJsonSafe({ ...v, look: input.look, arms, stopArms: extra.stopArms ?? [], weightActions: extra.weightActions ?? [], notes, srmHold: extra.srmHold ?? false, plan: extra.plan ?? input.plan ?? null });

  const primaries = input.metrics.filter((m) => m.role === 'primary');
  const primary = primaries[0];
  const treatments = input.variants.filter((v) => v !== input.control);
  if (treatments.length === 0) return done({ outcome: 'inconclusive', rationale: 'no variant to compare with control' });
  if (!primary) return done({ outcome: 'continue', rationale: 'no primary metric configured' });

  const alreadyStopped = new Set(input.stoppedArms ?? []);
  const active = treatments.filter((a) => !alreadyStopped.has(a));
  const units = (arm: string) => primaryUnits(input.cells, primary.key, arm);
  const readiness = checkReadiness({
    armUnits: Object.fromEntries([input.control, ...active].map((a) => [a, units(a)])),
    minSamplePerArm: policy.minSamplePerArm ?? input.minSamplePerArm ?? 0,
    minRuntimeHours: policy.minRuntimeHours,
    wholeWeeks: policy.wholeWeeks,
    startedAt: input.startedAt ?? 0,
    now: input.now ?? Number.POSITIVE_INFINITY,
  });
  notes.push(readiness.note);
  if (!readiness.sampleReached) return done({ outcome: 'continue', rationale: readiness.note.rationale });

  const srm = holdForSampleRatio(input.srm ?? { alarm: false, pValue: 1, threshold: 0.001 }, input.srmAcknowledged ?? null);
  notes.push(srm.note);

  // Harm protection first: it acts at every look, whatever the runtime or the sample-ratio state.
  const exempt = new Set(input.exemptArms ?? []);
  const stopArms: ArmStop[] = [];
  const breaches = guardrailBreaches({ results: arms, metrics: input.metrics, cells: input.cells, arms: active, alpha: input.alpha, tuningN: input.tuningN });
  for (const b of breaches) {
    notes.push(b.note);
    if (!policy.arms.stopOnGuardrail || exempt.has(b.arm) || stopArms.some((s) => s.arm === b.arm)) continue;
    stopArms.push({ arm: b.arm, rule: 'guardrail', reason: b.note.rationale });
  }

  const comparisons = treatments.length;
  const evidence = new Map<string, PrimaryEvidence>();
  let plan: FixedHorizonPlan | null = input.plan ?? null;
  let finalLook = false;
  let analysed = true;
  switch (policy.method) {
    case 'sequential':
      for (const arm of active) {
        const own = arms.filter((r) => r.arm === arm && r.role === 'primary');
        const r = own[0];
        if (!r) continue;
        evidence.set(arm, {
          arm,
          better: own.length === primaries.length && own.every((x) => x.better),
          harmful: own.some((x) => x.harmful),
          relativeCi: r.relative?.ci ?? null,
          lift: goodLift(r),
          note: { rule: 'method', rationale: `${arm}: always-valid ${describe(r)}` },
        });
      }
      break;
    case 'fixed_horizon': {
      const planned = plan?.plannedSamplePerArm ?? policy.plannedSamplePerArm ??
        planSamplePerArm({ metricType: primary.type, control: pooledMoments(input.cells, primary.key, input.control), mde: input.mde ?? 0.05, alpha: input.alpha, power: policy.power, comparisons });
      if (planned === null) {
        notes.push({ rule: 'method', rationale: 'fixed horizon: waiting for a control baseline to plan the sample size' });
        analysed = false;
        break;
      }
      const smallest = Math.min(...[input.control, ...active].map(units));
      const next = advanceLooks(plan?.looks ?? [], smallest / planned);
      if (!plan) {
        const pw = planPower({ metricType: primary.type, control: pooledMoments(input.cells, primary.key, input.control), mde: input.mde ?? 0.05, alpha: input.alpha, comparisons, n: planned });
        notes.push({ rule: 'method', rationale: `fixed horizon: ${planned} units per arm planned${pw === null ? '' : ` (power ${pct(pw)} at a ${pct(input.mde ?? 0.05)} lift)`}` });
      }
      plan = { plannedSamplePerArm: planned, looks: next.looks };
      finalLook = next.final;
      if (!next.analyse) {
        notes.push({ rule: 'method', rationale: `fixed horizon: ${smallest} of ${planned} planned units per arm (${fmt((100 * smallest) / planned)}%); next analysis at ${fmt(100 * Math.min(1, (next.looks.at(-1) ?? 0) + 0.1))}%` });
        analysed = false;
        break;
      }
      notes.push({ rule: 'method', rationale: `fixed horizon: analysis at ${fmt(100 * (next.looks.at(-1) ?? 0))}% information; the design keeps power ${pct(designPower(next.looks, input.alpha / comparisons, policy.power, policy.spending))} at the planned effect` });
      for (const arm of active) {
        const f = fixedHorizonArm({ cells: input.cells, metric: primary, control: input.control, arm, alpha: input.alpha, comparisons, looks: next.looks, spending: policy.spending });
        evidence.set(arm, { arm, better: f.better, harmful: f.harmful, relativeCi: f.relativeCi, lift: f.lift, note: f.note });
      }
      break;
    }
    case 'bayesian':
      for (const arm of active) {
        const b = bayesianArm(input.cells, primary, input.control, arm, input.alpha);
        const v = bayesianVerdict(b, policy);
        evidence.set(arm, { arm, better: v.better, harmful: v.harmful, relativeCi: b.relativeCi, lift: b.lift, note: v.note });
      }
      break;
    default:
      return assertNever(policy.method);
  }
  for (const e of evidence.values()) notes.push(e.note);

  if (policy.arms.stopOnHarm) {
    for (const e of evidence.values()) {
      if (!e.harmful || stopArms.some((s) => s.arm === e.arm)) continue;
      stopArms.push({ arm: e.arm, rule: 'harm', reason: `${e.arm} is worse than ${input.control} on ${primary.key}: ${e.note.rationale}` });
    }
  }
  const stoppedNow = new Set(stopArms.map((s) => s.arm));
  const remaining = active.filter((a) => !stoppedNow.has(a));
  if (remaining.length === 0) {
    const rationale = `every treatment arm is stopped, roll back to ${input.control}: ${[...alreadyStopped].map((a) => `${a} (stopped earlier)`).concat(stopArms.map((s) => s.reason)).join('; ')}`;
    notes.push({ rule: 'rollback', rationale });
    return done({ outcome: 'stop_harm', rationale }, { stopArms, srmHold: srm.hold, plan });
  }
  const stopText = stopArms.length ? ` Stopped: ${stopArms.map((s) => s.reason).join('; ')}.` : '';

  if (srm.hold) return done({ outcome: 'continue', rationale: `${srm.note.rationale}.${stopText}` }, { stopArms, srmHold: true, plan });

  const weightActions = input.weightActions
    ? armWeightActions({ probabilityBest: probabilityBestByArm(input.cells, primary, [input.control, ...remaining]), control: input.control, raiseWeightAbove: policy.arms.raiseWeightAbove, lowerWeightBelow: policy.arms.lowerWeightBelow })
    : [];
  for (const w of weightActions) notes.push(w.note);

  if (!readiness.runtimeReached) return done({ outcome: 'continue', rationale: `${readiness.note.rationale}.${stopText}` }, { stopArms, weightActions, plan });
  if (!analysed) return done({ outcome: 'continue', rationale: `${notes.at(-1)?.rationale ?? 'waiting'}.${stopText}` }, { stopArms, weightActions, plan });

  // Whether or not the breaker stopped it, an arm that breaches a guardrail never ships.
  const guardrailHarm = (arm: string) => breaches.some((b) => b.arm === arm);
  const shippable = remaining.filter((arm) => {
    const e = evidence.get(arm);
    if (!e?.better || guardrailHarm(arm)) return false;
    const practical = clearsMinimumLift({ arm, relativeCi: e.relativeCi, direction: primary.direction, minLift: policy.minLift });
    notes.push(practical.note);
    return practical.clears;
  });
  if (shippable.length > 0) {
    const winner = [...shippable].sort((a, b) => (evidence.get(b)?.lift ?? 0) - (evidence.get(a)?.lift ?? 0))[0] as string;
    const e = evidence.get(winner);
    return done({ outcome: 'ship', winner, rationale: `${winner} beats ${input.control} on ${primary.key} (${e?.note.rationale}) with no guardrail harm.${stopText}` }, { stopArms, weightActions, plan });
  }

  const maxN = input.maxSamplePerArm;
  const smallest = Math.min(...[input.control, ...remaining].map(units));
  if (finalLook || (maxN !== undefined && smallest >= maxN)) {
    const horizon = finalLook ? `fixed horizon of ${plan?.plannedSamplePerArm} units per arm reached` : `horizon of ${maxN} units per arm reached`;
    const promising = remaining.filter((a) => (evidence.get(a)?.lift ?? 0) > 0);
    const detectable = detectableLift({ metricType: primary.type, control: pooledMoments(input.cells, primary.key, input.control), alpha: input.alpha, power: policy.power, comparisons, n: smallest });
    const sensitivity = detectable === null ? '' : `; ${smallest} units per arm detect a ${pct(detectable)} lift with ${pct(policy.power)} power`;
    const rationale = promising.length === 0
      ? `${horizon} and no variant's primary metric points the good way${sensitivity}`
      : `${horizon} without a decision (${promising.join(', ')} trending better)${sensitivity}`;
    notes.push({ rule: 'horizon', rationale });
    return done({ outcome: promising.length === 0 ? 'stop_futility' : 'inconclusive', rationale: `${rationale}.${stopText}` }, { stopArms, weightActions, plan });
  }
  const why = policy.method === 'sequential' ? 'no significant difference yet; the confidence sequences allow another look' : 'no arm meets the thresholds yet';
  return done({ outcome: 'continue', rationale: `${why}.${stopText}` }, { stopArms, weightActions, plan });
}

function primaryUnits(cells: readonly CellStats[], metric: string, arm: string): number {
  return pooledMoments(cells, metric, arm).n;
}

function pooledMoments(cells: readonly CellStats[], metric: string, arm: string) {
  let m = emptyMoments();
  for (const c of cells) if (c.metric === metric && c.variant === arm) m = addMoments(m, c.moments);
  return m;
}

function describe(r: ArmMetricResult): string {
  const rel = r.relative ? `lift ${(100 * r.relative.estimate).toFixed(2)}% [${(100 * r.relative.ci[0]).toFixed(2)}%, ${(100 * r.relative.ci[1]).toFixed(2)}%]` : `difference ${r.estimate.toPrecision(3)}`;
  return `${rel}, adjusted p=${(r.adjustedP ?? r.pValue).toPrecision(3)}`;
}

function assertNever(x: never): never {
  throw new Error(`unknown decision method ${String(x)}`);
}

