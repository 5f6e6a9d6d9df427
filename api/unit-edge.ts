/**
 * What the API edge does to a unit's id and context before anything is stored: the id becomes its
 * keyed pseudonym, the context gains the derived features (time in the experiment's zone, current
 * in-scope signals), and the stored copy goes through the privacy policy (raw location only with
 * consent). Assignment itself sees the raw id and the full, enriched context, in memory only.
 */
import { withDerivedFeatures } from '../domain/context/derive-features.js';
import { applyContextPolicy, compileContextPolicy, hasConsent, type ContextPolicy } from '../domain/privacy/context-policy.js';
import { createPseudonymiser, type Pseudonymise } from '../infra/unit-pseudonym.js';
import type { ContextCache } from './context-cache.js';

/** Recent units whose pseudonym is kept in memory (about 15 MB at most). */
const PSEUDONYM_CACHE_SIZE = 100_000;

export class UnitEdge {
  readonly pseudonymise: Pseudonymise;
  /** The pseudonym under UNIT_ID_KEY_PREVIOUS during a key rotation (sticky records written before it), else null. */
  readonly previousPseudonymise: Pseudonymise | null;
  private readonly policy: ContextPolicy;

  constructor(
    unitIdKey: string,
    policy: ContextPolicy,
    private readonly context: Pick<ContextCache, 'prepared'> | null,
    unitIdKeyPrevious?: string,
  ) {
    this.pseudonymise = createPseudonymiser(unitIdKey, PSEUDONYM_CACHE_SIZE);
    this.previousPseudonymise = unitIdKeyPrevious ? createPseudonymiser(unitIdKeyPrevious, PSEUDONYM_CACHE_SIZE) : null;
    this.policy = compileContextPolicy(policy);
  }

  /** The request context plus derived features, as assignment sees it. */
  enrich<V>(experimentKey: string, timeZone: string | undefined, context: Readonly<Record<string, V>>, nowMs: number): Record<string, V | number> {
    return withDerivedFeatures({ experimentKey, timeZone: timeZone ?? 'UTC', context, signals: this.context?.prepared() ?? [], nowMs });
  }

  /** The context as it may be stored (exposures, events). */
  storable(context: Readonly<Record<string, unknown>>, consent?: boolean): Record<string, unknown> {
    return applyContextPolicy(context, this.policy, hasConsent(context, consent));
  }
}
