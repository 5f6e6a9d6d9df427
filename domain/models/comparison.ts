/**
 * Champion-vs-challenger comparisons for the model registry: naming, the experiment a new model
 * version triggers, and what its conclusion means for the registry.
 */
import { fnv1a32 } from '../assignment/hash.js';
import type { CreateExperimentInput, ExperimentConfig } from '../experiment/config.js';

export interface ModelRef {
  id: string;
  version: string;
  uri: string;
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');

/** A stable, valid experiment key for comparing `version` of entity × modelType with its champion. */
export function comparisonKey(entity: string, modelType: string, version: string): string {
  const hash = fnv1a32(`${entity}\u001f${modelType}\u001f${version}`).toString(36);
  const body = slug(`mc-${entity}-${modelType}-${version}`).slice(0, 62 - hash.length - 1).replace(/-+$/, '');
  return `${body}-${hash}`;
}

/** The experiment that pits a challenger against the champion, 50/50 unless `challengerShare` says otherwise. */
export function buildComparison(input: {
  entity: string;
  modelType: string;
  champion: ModelRef;
  challenger: ModelRef;
  config: ExperimentConfig;
  owner: string;
  challengerShare?: number;
}): CreateExperimentInput {
  const share = input.challengerShare ?? 0.5;
  return {
    key: comparisonKey(input.entity, input.modelType, input.challenger.version),
    name: `${input.entity} ${input.modelType}: ${input.challenger.version} vs ${input.champion.version}`,
    description: `Champion-vs-challenger comparison triggered by registering ${input.modelType} ${input.challenger.version} for ${input.entity}.`,
    hypothesis: `${input.challenger.version} performs at least as well as champion ${input.champion.version}`,
    kind: 'model_comparison',
    owner: input.owner,
    variants: [
      { key: 'champion', name: input.champion.version, payload: { modelVersionId: input.champion.id, version: input.champion.version, uri: input.champion.uri }, weight: 1 - share, control: true },
      { key: 'challenger', name: input.challenger.version, payload: { modelVersionId: input.challenger.id, version: input.challenger.version, uri: input.challenger.uri }, weight: share, control: false },
    ],
    config: { ...input.config, entity: input.entity },
  };
}

/** Registry transition when a comparison ends: promote the challenger only if it was shipped. */
export function promotionFor(phase: 'concluded' | 'stopped', winner: string | null): 'promote' | 'reject' {
  return phase === 'concluded' && winner === 'challenger' ? 'promote' : 'reject';
}
