/**
 * What one retraining run does: which of an entity's model types are due, and the training
 * requests grouped by dataset fingerprint and trainer, so each group's data transformation runs
 * once however many models train on it.
 */
import { createHash } from 'node:crypto';
import type { DatasetRef, Trainer, TrainingSpec } from './policy.js';

export interface PolicyState {
  modelType: string;
  trainer: Trainer;
  spec: TrainingSpec;
  /** When its newest version was trained (ISO), null if never. */
  lastTrainedAt: string | null;
  /** Time between its runs; null when unknown (then it is due only when triggered or never trained). */
  periodMs: number | null;
  /** Its own schedule fired (or a person triggered it): due whatever its last training. */
  triggered: boolean;
}

export interface TrainingRequest {
  /** `<modelType>/<candidate>`: the trainer echoes it when it registers the version. */
  requestId: string;
  modelType: string;
  candidate: string;
  params: Record<string, unknown>;
}

export interface TrainingGroup {
  fingerprint: string;
  dataset: { id: string; transform: Record<string, unknown> };
  trainer: Trainer;
  requests: TrainingRequest[];
}

export interface TrainingPlan {
  due: string[];
  skipped: Array<{ modelType: string; reason: string }>;
  groups: TrainingGroup[];
}

/** Schedules fire a little early or late; a sibling due within this share of its period counts as due. */
const PERIOD_SLACK = 0.05;

/** Canonical JSON: object keys sorted, so equal transforms hash equally whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The dataset's fingerprint: the caller's, else a hash of its id and transform. */
export function datasetFingerprint(d: DatasetRef): string {
  if (d.fingerprint) return d.fingerprint;
  return `sha256:${createHash('sha256').update(canonical({ id: d.id, transform: d.transform })).digest('hex').slice(0, 32)}`;
}

export function isDue(p: PolicyState, nowMs: number): { due: boolean; reason: string } {
  if (p.triggered) return { due: true, reason: 'its schedule fired' };
  if (p.lastTrainedAt === null) return { due: true, reason: 'never trained' };
  if (p.periodMs === null) return { due: false, reason: 'waits for its own schedule' };
  const age = nowMs - Date.parse(p.lastTrainedAt);
  return age >= p.periodMs * (1 - PERIOD_SLACK)
    ? { due: true, reason: `last trained ${Math.round(age / 1000)} s ago, period ${p.periodMs / 1000} s` }
    : { due: false, reason: `trained ${Math.round(age / 1000)} s ago, next in ${Math.round((p.periodMs - age) / 1000)} s` };
}

/** The run's plan: every due model type's candidates, grouped by (trainer, dataset fingerprint). */
export function planRetraining(policies: PolicyState[], nowMs: number): TrainingPlan {
  const groups = new Map<string, TrainingGroup>();
  const due: string[] = [];
  const skipped: TrainingPlan['skipped'] = [];
  for (const p of [...policies].sort((a, b) => a.modelType.localeCompare(b.modelType))) {
    const verdict = isDue(p, nowMs);
    if (!verdict.due) {
      skipped.push({ modelType: p.modelType, reason: verdict.reason });
      continue;
    }
    due.push(p.modelType);
    for (const c of p.spec.candidates) {
      const dataset = c.dataset ?? p.spec.dataset;
      const fingerprint = datasetFingerprint(dataset);
      const key = `${canonical(p.trainer)}\u001f${fingerprint}`;
      const group = groups.get(key) ?? { fingerprint, dataset: { id: dataset.id, transform: dataset.transform }, trainer: p.trainer, requests: [] };
      group.requests.push({ requestId: `${p.modelType}/${c.name}`, modelType: p.modelType, candidate: c.name, params: c.params });
      groups.set(key, group);
    }
  }
  return { due, skipped, groups: [...groups.values()] };
}
