/**
 * The retraining workflow's steps: plan what is due, send each group's training request to the
 * trainer, start the comparisons, and record how the run ended. Each step is idempotent (retried).
 */
import { assertNever } from '../domain/assert-never.js';
import { planRetraining, type PolicyState, type TrainingGroup, type TrainingPlan } from '../domain/training/plan.js';
import { fixedPeriodMs, frequencySchema, trainerSchema, trainingSpecSchema } from '../domain/training/policy.js';
import { experimentExists } from '../infra/experiment-repo.js';
import { lastTrainedByModelType, runVersions } from '../infra/model-registry.js';
import { createRunOnce, finishRun, setRunStatus, trainingPolicies, trainingPolicy } from '../infra/training-runs.js';
import { describeTrainingSchedule } from '../infra/training-schedules.js';
import { signatureHeader } from '../infra/webhook-delivery.js';
import type { ActivityDeps } from './deps.js';

function training(d: ActivityDeps) {
  if (!d.training) throw new Error('this worker was started without the training platform (no Temporal client)');
  return d.training;
}

export interface PlanTrainingInput {
  runId: string;
  workflowId: string;
  entity: string;
  trigger: string;
  now: string;
}

/** What is due now for the entity, stored on the run's row. */
export function planTraining(d: ActivityDeps) {
  return async (input: PlanTrainingInput): Promise<TrainingPlan & { waitMs: number }> => {
    const t = training(d);
    const policies = await trainingPolicies(d.prisma, input.entity);
    const last = await lastTrainedByModelType(d.prisma, input.entity);
    const states: PolicyState[] = [];
    let waitMs = 0;
    for (const p of policies) {
      const spec = trainingSpecSchema.parse(p.spec);
      const frequency = frequencySchema.parse(p.frequency);
      const lastTrained = last.get(p.modelType) ?? null;
      let periodMs = fixedPeriodMs(frequency);
      if (periodMs === null && p.modelType !== input.trigger) {
        // A cron policy's period: the gap between its schedule's next two firings.
        const upcoming = (await describeTrainingSchedule(t.temporal, p.scheduleId))?.upcoming ?? [];
        const [a, b] = upcoming;
        periodMs = a && b ? Date.parse(b) - Date.parse(a) : null;
      }
      states.push({ modelType: p.modelType, trainer: trainerSchema.parse(p.trainer), spec, lastTrainedAt: lastTrained?.toISOString() ?? null, periodMs, triggered: p.modelType === input.trigger });
    }
    const plan = planRetraining(states, Date.parse(input.now));
    for (const s of states) if (plan.due.includes(s.modelType)) waitMs = Math.max(waitMs, s.spec.waitForVersionsSeconds * 1000);
    if (!policies.some((p) => p.modelType === input.trigger)) plan.skipped.push({ modelType: input.trigger, reason: 'no training policy (deleted?)' });
    const planJson = JSON.parse(JSON.stringify(plan)) as object;
    await createRunOnce(d.prisma, { id: input.runId, workflowId: input.workflowId, entity: input.entity, status: plan.groups.length ? 'training' : 'planned', plan: planJson });
    return { ...plan, waitMs };
  };
}

export interface RequestTrainingInput {
  runId: string;
  workflowId: string;
  entity: string;
  index: number;
  group: TrainingGroup;
}

/** The message a trainer receives: transform the dataset once, train each model on it, register each. */
function trainingMessage(input: RequestTrainingInput) {
  return {
    type: 'expflow.training_request',
    runId: input.runId,
    entity: input.entity,
    fingerprint: input.group.fingerprint,
    dataset: input.group.dataset,
    models: input.group.requests,
    // How to answer: POST /models with these fields (plus version, uri, trainedAt, metrics...).
    register: { method: 'POST', path: '/models', body: { entity: input.entity, datasetId: input.group.dataset.id, datasetFingerprint: input.group.fingerprint, training: { runId: input.runId } } },
  };
}

/** Sends one group's request: a BullMQ job (id per run × group, so a retry adds none) or a signed webhook. */
export function requestTraining(d: ActivityDeps) {
  return async (input: RequestTrainingInput): Promise<{ sent: 'bullmq' | 'webhook'; id: string }> => {
    const message = trainingMessage(input);
    const id = `${input.runId}-g${input.index}`;
    const trainer = input.group.trainer;
    if (trainer.kind === 'bullmq') {
      await d.queues.trainer(trainer.queue).add('train', message, { jobId: id });
    } else {
      const raw = JSON.stringify(message);
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-expflow-idempotency-key': id };
      if (d.webhookSecret) headers['x-expflow-signature'] = signatureHeader(d.webhookSecret, Math.floor(Date.now() / 1000), raw);
      const res = await fetch(trainer.url, { method: 'POST', headers, body: raw, signal: AbortSignal.timeout(15_000) });
      if (!res.ok) throw new Error(`trainer webhook ${trainer.url} answered HTTP ${res.status}`);
    }
    await setRunStatus(d.prisma, input.runId, 'training');
    return { sent: trainer.kind, id };
  };
}

export interface ComparisonStart {
  modelType: string;
  state: 'started' | 'running' | 'none';
  experimentKey: string;
  note: string;
}

/** One comparison per model type: its champion against every waiting candidate (this run's among them). */
export function startTrainingComparisons(d: ActivityDeps) {
  return async (input: { runId: string; entity: string; modelTypes: string[] }): Promise<ComparisonStart[]> => {
    const t = training(d);
    const out: ComparisonStart[] = [];
    for (const modelType of input.modelTypes) {
      const policy = await trainingPolicy(d.prisma, input.entity, modelType);
      const spec = policy ? trainingSpecSchema.parse(policy.spec) : null;
      const mine = await runVersions(d.prisma, input.runId, modelType);
      // A retried step finds its comparison already started by the first attempt.
      const already = mine.find((m) => m.experimentKey !== null);
      if (already?.experimentKey && (await experimentExists(d.prisma, already.experimentKey))) {
        out.push({ modelType, state: 'started', experimentKey: already.experimentKey, note: `comparison ${already.experimentKey} started` });
        continue;
      }
      if (mine.length === 0) {
        out.push({ modelType, state: 'none', experimentKey: '', note: 'no new version registered' });
        continue;
      }
      if (mine.every((m) => m.status === 'champion')) {
        out.push({ modelType, state: 'none', experimentKey: '', note: `${mine.map((m) => m.version).join(', ')} became champion (no champion before)` });
        continue;
      }
      const next = await t.comparisons.tryStartNext(input.entity, modelType, 'training-scheduler', { config: spec?.comparison, owner: spec?.owner });
      switch (next.state) {
        case 'started':
          out.push({ modelType, state: 'started', experimentKey: next.experimentKey, note: `comparison ${next.experimentKey}: ${next.versions.join(', ')} against the champion` });
          break;
        case 'running':
          out.push({ modelType, state: 'running', experimentKey: next.experimentKey, note: `versions wait for the comparison after ${next.experimentKey}` });
          break;
        case 'none':
          out.push({ modelType, state: 'none', experimentKey: '', note: 'nothing to compare' });
          break;
        case 'refused':
          // Bad configuration (no comparison config yet) is not fixed by retrying: the versions
          // wait, and the run records why.
          out.push({ modelType, state: 'none', experimentKey: '', note: `could not start a comparison: ${next.reason}` });
          break;
        default:
          assertNever(next);
      }
    }
    await setRunStatus(d.prisma, input.runId, 'comparing', out.filter((o) => o.state === 'started').map((o) => o.experimentKey));
    return out;
  };
}

export interface TrainingOutcome {
  runId: string;
  status: string;
  note: string;
  versions: Array<{ modelType: string; version: string; status: string; settledBy: string | null }>;
}

/** Records how the run ended, with its versions' registry status. */
export function finishTraining(d: ActivityDeps) {
  return async (input: { runId: string; status: string; note: string }): Promise<TrainingOutcome> => {
    const now = (d.now ?? (() => new Date()))();
    await finishRun(d.prisma, input.runId, { status: input.status, note: input.note.slice(0, 2000), at: now });
    const versions = await runVersions(d.prisma, input.runId);
    return { ...input, versions: versions.map((v) => ({ modelType: v.modelType, version: v.version, status: v.status, settledBy: v.settledBy })) };
  };
}
