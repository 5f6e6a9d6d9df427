/**
 * Champion-vs-challengers comparisons for the model registry: naming, the experiment the waiting
 * candidates enter (N-way: the champion against every new challenger at once), and what its
 * conclusion means for each version.
 */
import { fnv1a32 } from '../assignment/hash.js';
import type { CreateExperimentInput, ExperimentConfig } from '../experiment/config.js';

export interface ModelRef {
  id: string;
  version: string;
  uri: string;
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');

/** A stable, valid experiment key for comparing `version` (or versions a+b) of entity × modelType with its champion. */
export function comparisonKey(entity: string, modelType: string, version: string): string {
  const hash = fnv1a32(`${entity}\u001f${modelType}\u001f${version}`).toString(36);
  const body = slug(`mc-${entity}-${modelType}-${version}`).slice(0, 62 - hash.length - 1).replace(/-+$/, '');
  return `${body}-${hash}`;
}

/** The arm of the i-th challenger: `challenger` when it is alone (as before N-way), else `challenger-<i+1>`. */
function challengerArm(i: number, count: number): string {
  return count === 1 ? 'challenger' : `challenger-${i + 1}`;
}

/**
 * The experiment that pits the challengers against the champion. One challenger gets
 * `challengerShare` (default 50%); several start on equal shares and the config's policy
 * (Thompson sampling by default) moves traffic towards the better ones.
 */
export function buildComparison(input: {
  entity: string;
  modelType: string;
  champion: ModelRef;
  challengers: ModelRef[];
  config: ExperimentConfig;
  owner: string;
  challengerShare?: number;
}): CreateExperimentInput {
  const { challengers } = input;
  const n = challengers.length;
  if (n < 1) throw new Error('a comparison needs at least one challenger');
  const share = n === 1 ? (input.challengerShare ?? 0.5) : 1 / (n + 1);
  const versions = challengers.map((c) => c.version);
  return {
    key: comparisonKey(input.entity, input.modelType, versions.join('+')),
    name: `${input.entity} ${input.modelType}: ${versions.join(', ')} vs ${input.champion.version}`,
    description: `Champion-vs-challenger comparison of ${input.modelType} ${versions.join(', ')} for ${input.entity}.`,
    hypothesis: `${n === 1 ? versions[0] : `one of ${versions.join(', ')}`} performs at least as well as champion ${input.champion.version}`,
    kind: 'model_comparison',
    owner: input.owner,
    variants: [
      { key: 'champion', name: input.champion.version, payload: { modelVersionId: input.champion.id, version: input.champion.version, uri: input.champion.uri }, weight: n === 1 ? 1 - share : share, control: true },
      ...challengers.map((c, i) => ({
        key: challengerArm(i, n),
        name: c.version,
        payload: { modelVersionId: c.id, version: c.version, uri: c.uri },
        weight: share,
        control: false,
      })),
    ],
    config: { ...input.config, entity: input.entity },
  };
}

/** What starting an entity × model type's next comparison did. */
export type NextComparison =
  | { state: 'started'; experimentKey: string; versions: string[]; experiment: unknown }
  | { state: 'running'; experimentKey: string }
  | { state: 'none' };

/** The same, for callers that cannot fix a bad request: a refusal (no or an invalid comparison config) is an answer. */
export type ComparisonAttempt = NextComparison | { state: 'refused'; reason: string };

export type SettledStatus = 'champion' | 'retired' | 'rejected';

/**
 * What a comparison's end does to each version it compared. A shipped challenger becomes champion
 * and the rest (the old champion and the other challengers) are retired; otherwise (champion won,
 * stopped, or the champion changed meanwhile) every challenger is rejected and the champion stays.
 */
export function settleComparison(input: {
  phase: 'concluded' | 'stopped';
  winner: string | null;
  champion: { id: string; isCurrent: boolean };
  challengers: Array<{ arm: string; id: string }>;
}): { promoted: string | null; changes: Array<{ id: string; status: SettledStatus }> } {
  const winner = input.phase === 'concluded' ? input.challengers.find((c) => c.arm === input.winner) : undefined;
  if (!winner || !input.champion.isCurrent) {
    return { promoted: null, changes: input.challengers.map((c) => ({ id: c.id, status: 'rejected' as const })) };
  }
  return {
    promoted: winner.id,
    // In this order: there is at most one champion at any moment (a unique index says so).
    changes: [
      { id: input.champion.id, status: 'retired' },
      ...input.challengers.filter((c) => c.id !== winner.id).map((c) => ({ id: c.id, status: 'retired' as const })),
      { id: winner.id, status: 'champion' },
    ],
  };
}
