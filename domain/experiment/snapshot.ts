/** Builds allocation snapshots from an experiment's definition and its current allocation. */
import type { AllocationSnapshot, ExperimentPhase, FeatureScaling, SnapshotSegment, VariantRef, Weights } from '../types.js';
import type { ExperimentConfig } from './config.js';

/** Hash version given to new experiments; stored with the experiment so it never changes under it. */
export const DEFAULT_HASH_VERSION = 2;

export interface ExperimentDefinition {
  key: string;
  /** Hash seed: the experiment's id, fixed for life. */
  seed: string;
  hashVersion: number;
  variants: Array<VariantRef & { weight: number }>;
  config: ExperimentConfig;
}

export interface SnapshotParts {
  version: number;
  cycle: number;
  phase: ExperimentPhase;
  segments: SnapshotSegment[];
  segmentFeatures: FeatureScaling[];
  contextual?: AllocationSnapshot['contextual'];
  /** Served to units that are not enrolled; the winner once an experiment ships. */
  defaultVariant?: string;
  reason: string;
  now: string;
}

export function controlVariant(def: Pick<ExperimentDefinition, 'variants'>): string {
  const c = def.variants.find((v) => v.isControl);
  if (!c) throw new Error('experiment has no control variant');
  return c.key;
}

export function initialWeights(def: Pick<ExperimentDefinition, 'variants'>): Weights {
  return Object.fromEntries(def.variants.map((v) => [v.key, v.weight]));
}

/** The catch-all segment every experiment starts with. */
export function initialSegments(def: ExperimentDefinition): SnapshotSegment[] {
  return [{ id: 0, status: 'active', coverage: def.config.coverage, weights: initialWeights(def), centroid: null }];
}

export function buildSnapshot(def: ExperimentDefinition, parts: SnapshotParts): AllocationSnapshot {
  const { config } = def;
  return {
    experimentKey: def.key,
    version: parts.version,
    cycle: parts.cycle,
    seed: def.seed,
    hashVersion: def.hashVersion,
    phase: parts.phase,
    variants: def.variants.map((v) => ({ key: v.key, isControl: v.isControl, ...(v.payload && Object.keys(v.payload).length ? { payload: v.payload } : {}) })),
    defaultVariant: parts.defaultVariant ?? controlVariant(def),
    segments: parts.segments,
    segmentFeatures: parts.segmentFeatures,
    ...(config.targeting ? { targeting: config.targeting } : {}),
    ...(config.layer ? { layer: config.layer } : {}),
    ...(config.holdout ? { holdout: config.holdout } : {}),
    randomization: config.randomization,
    sticky: config.sticky,
    ...(parts.contextual ? { contextual: parts.contextual } : {}),
    createdAt: parts.now,
    reason: parts.reason,
  };
}

/** Weights per segment id, the shape the workflow reports in its status query. */
export function weightsBySegment(segments: SnapshotSegment[]): Record<string, Weights> {
  return Object.fromEntries(segments.map((s) => [String(s.id), s.weights]));
}
