/**
 * GET /entities/:entity/report?at=: the entity's traffic split across its experiments and model
 * versions at one moment, their metrics (always-valid, as the decisions compute them, on the units
 * and events up to that moment), and its champion and challengers per model type then.
 */
import type { CellStats, ExperimentPhase, MetricSpec, Weights } from '../types.js';
import { estimateArms, type ArmEstimate } from './estimates.js';

export type ModelStatus = 'candidate' | 'champion' | 'retired' | 'rejected' | 'shadow';

export interface ModelVersionRow {
  id: string;
  modelType: string;
  version: string;
  uri: string;
  status: ModelStatus;
  experimentKey: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface EntityExperimentInput {
  key: string;
  name: string;
  kind: string;
  metrics: MetricSpec[];
  alpha: number;
  tuningN?: number;
  variants: Array<{ key: string; isControl: boolean; modelVersionId: string | null }>;
  /** The snapshot in force at `at` (the newest created at or before it); null if none yet. */
  snapshot: { version: number; phase: ExperimentPhase; segments: Array<{ id: number; coverage: number; weights: Weights }> } | null;
  /** Cells of the units exposed up to `at`, with their events up to `at`. */
  cells: CellStats[];
  /** Units exposed in the day before `at`, per variant: the traffic the entity served then. */
  recentUnits: Record<string, number>;
}

export interface EntityReportInput {
  entity: string;
  at: string;
  experiments: EntityExperimentInput[];
  models: ModelVersionRow[];
  /** When each model version was promoted ("model.promoted" audit entries, by experiment key). */
  promotions: Array<{ experimentKey: string; at: string }>;
}

export interface EntityReport {
  entity: string;
  at: string;
  traffic: Array<{ experiment: string; variant: string; modelVersion: string | null; units: number; share: number; weight: number | null }>;
  experiments: Array<{ key: string; name: string; kind: string; phase: ExperimentPhase | null; snapshotVersion: number | null; units: number; arms: ArmEstimate[]; means: Array<{ variant: string; metric: string; n: number; mean: number | null }> }>;
  models: Array<{ modelType: string; champion: ModelVersionRow | null; challengers: Array<ModelVersionRow & { experimentKey: string | null }>; retired: ModelVersionRow[] }>;
}

/**
 * A model version's status at `at`, from its current status, when that last changed (updatedAt)
 * and when it was promoted. Versions go candidate → champion|rejected and champion → retired, so
 * a status set after `at` tells which one it had before.
 */
export function modelStatusAt(m: ModelVersionRow, at: string, promotedAt: string | null): ModelStatus | null {
  if (m.createdAt > at) return null;
  if (m.updatedAt <= at) return m.status;
  switch (m.status) {
    case 'candidate':
      return 'candidate';
    case 'rejected':
      return 'candidate';
    case 'shadow':
      return 'shadow';
    case 'champion':
      // The first version is champion from registration; a challenger from its promotion.
      return m.experimentKey === null ? 'champion' : 'candidate';
    case 'retired':
      return promotedAt !== null && promotedAt > at ? 'candidate' : 'champion';
    default:
      return assertNever(m.status);
  }
}

export function buildEntityReport(input: EntityReportInput): EntityReport {
  const versionById = new Map(input.models.map((m) => [m.id, m]));
  const total = input.experiments.reduce((a, e) => a + Object.values(e.recentUnits).reduce((x, y) => x + y, 0), 0);
  const traffic: EntityReport['traffic'] = [];
  for (const e of input.experiments) {
    for (const v of e.variants) {
      const units = e.recentUnits[v.key] ?? 0;
      const segs = e.snapshot?.segments ?? [];
      const covered = segs.reduce((a, s) => a + s.coverage, 0);
      // The weight a new unit saw: segments' weights averaged by their coverage.
      const weight = segs.length && covered > 0 ? segs.reduce((a, s) => a + s.coverage * (s.weights[v.key] ?? 0), 0) / covered : null;
      traffic.push({ experiment: e.key, variant: v.key, modelVersion: v.modelVersionId ? (versionById.get(v.modelVersionId)?.version ?? null) : null, units, share: total > 0 ? units / total : 0, weight });
    }
  }
  const experiments = input.experiments.map((e) => {
    const control = e.variants.find((v) => v.isControl)?.key ?? e.variants[0]?.key ?? '';
    const variants = e.variants.map((v) => v.key);
    const primary = e.metrics.find((m) => m.role === 'primary') ?? e.metrics[0];
    const means = e.metrics.flatMap((m) =>
      variants.map((v) => {
        const own = e.cells.filter((c) => c.metric === m.key && c.variant === v);
        const n = own.reduce((a, c) => a + c.moments.n, 0);
        return { variant: v, metric: m.key, n, mean: n > 0 ? own.reduce((a, c) => a + c.moments.sum, 0) / n : null };
      }),
    );
    return {
      key: e.key,
      name: e.name,
      kind: e.kind,
      phase: e.snapshot?.phase ?? null,
      snapshotVersion: e.snapshot?.version ?? null,
      units: e.cells.reduce((a, c) => a + (c.metric === primary?.key ? c.moments.n : 0), 0),
      arms: estimateArms(e.cells, { metrics: e.metrics, control, variants, alpha: e.alpha, tuningN: e.tuningN }),
      means,
    };
  });
  const promotedAt = new Map(input.promotions.map((p) => [p.experimentKey, p.at]));
  const byType = new Map<string, Array<ModelVersionRow & { statusAt: ModelStatus }>>();
  for (const m of input.models) {
    const statusAt = modelStatusAt(m, input.at, m.experimentKey ? (promotedAt.get(m.experimentKey) ?? null) : null);
    if (!statusAt) continue;
    const list = byType.get(m.modelType) ?? [];
    list.push({ ...m, statusAt });
    byType.set(m.modelType, list);
  }
  const models = [...byType.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([modelType, list]) => {
    const asOf = (s: ModelStatus) => list.filter((m) => m.statusAt === s).map(({ statusAt, ...m }) => ({ ...m, status: statusAt }));
    return { modelType, champion: asOf('champion').sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0] ?? null, challengers: asOf('candidate'), retired: asOf('retired') };
  });
  return { entity: input.entity, at: input.at, traffic, experiments, models };
}

function assertNever(x: never): never {
  throw new Error(`unknown model status ${String(x)}`);
}
