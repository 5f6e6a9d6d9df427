/**
 * External context signals (news sentiment, weather, campaign load, ...): a value of one named
 * series from one source, valid from `timestamp` for `ttlSeconds` (forever when absent), and
 * scoped to everyone, to listed experiments, or to units whose context matches attributes.
 *
 * A signal's id is `source.name` ("news.sentiment"); its feature on an exposure is
 * `signal.<source>.<name>`. When several current values of one id are in scope for a unit, the most
 * specific scope wins (attributes over experiments over global), then the newest.
 */
export type SignalScope =
  | { kind: 'global' }
  | { kind: 'experiments'; experiments: string[] }
  | { kind: 'attributes'; match: Record<string, string | number | boolean> };

export interface ContextSignal {
  source: string;
  name: string;
  value: number;
  /** ISO-8601 instant the value was observed. */
  timestamp: string;
  /** Seconds the value stays current; null or absent = until a newer value arrives. */
  ttlSeconds?: number | null;
  scope: SignalScope;
}

/** Signals stamped this far in the future still count as current (sender clock skew). */
const FUTURE_SKEW_MS = 60_000;

export function signalId(s: Pick<ContextSignal, 'source' | 'name'>): string {
  return `${s.source}.${s.name}`;
}

function signalFeatureName(s: Pick<ContextSignal, 'source' | 'name'>): string {
  return `signal.${signalId(s)}`;
}

/** A canonical string per scope, so "the current value" is kept per (id, scope). */
export function scopeKey(scope: SignalScope): string {
  switch (scope.kind) {
    case 'global':
      return 'global';
    case 'experiments':
      return `experiments:${[...scope.experiments].sort().join(',')}`;
    case 'attributes':
      return `attributes:${Object.keys(scope.match)
        .sort()
        .map((k) => `${k}=${JSON.stringify(scope.match[k])}`)
        .join(',')}`;
    default:
      return assertNever(scope);
  }
}

/** Epoch ms after which the signal is no longer current (Infinity without a ttl). */
export function expiresAt(s: Pick<ContextSignal, 'timestamp' | 'ttlSeconds'>): number {
  return s.ttlSeconds == null ? Infinity : Date.parse(s.timestamp) + s.ttlSeconds * 1000;
}

export function isCurrent(s: ContextSignal, nowMs: number): boolean {
  const t = Date.parse(s.timestamp);
  return t <= nowMs + FUTURE_SKEW_MS && expiresAt(s) > nowMs;
}

/** The newest current value per (id, scope); expired and far-future values are left out. */
export function currentSignals(signals: readonly ContextSignal[], nowMs: number): ContextSignal[] {
  const best = new Map<string, ContextSignal>();
  for (const s of signals) {
    if (!isCurrent(s, nowMs)) continue;
    const k = `${signalId(s)}\u001f${scopeKey(s.scope)}`;
    const cur = best.get(k);
    if (!cur || Date.parse(s.timestamp) > Date.parse(cur.timestamp)) best.set(k, s);
  }
  return [...best.values()];
}

/** Whether a signal's scope covers this experiment and unit context. */
export function signalInScope(scope: SignalScope, experimentKey: string, context: Readonly<Record<string, unknown>>): boolean {
  switch (scope.kind) {
    case 'global':
      return true;
    case 'experiments':
      return scope.experiments.includes(experimentKey);
    case 'attributes':
      for (const k in scope.match) if (context[k] !== scope.match[k]) return false;
      return true;
    default:
      return assertNever(scope);
  }
}

const SPECIFICITY: Record<SignalScope['kind'], number> = { global: 0, experiments: 1, attributes: 2 };

/** One candidate value of a feature, with its times parsed once. */
interface PreparedCandidate {
  value: number;
  atMs: number;
  expiresMs: number;
  scope: SignalScope;
  /** Attribute filters as pairs, for a loop without `for…in`. */
  match: Array<[string, string | number | boolean]> | null;
}

/**
 * Signals grouped by feature, each group's candidates ordered by precedence (most specific scope,
 * then newest), built once per cache refresh: a request takes the first current, in-scope one.
 */
export interface PreparedSignal {
  feature: string;
  candidates: PreparedCandidate[];
}

export function prepareSignals(signals: readonly ContextSignal[]): PreparedSignal[] {
  const byFeature = new Map<string, PreparedCandidate[]>();
  for (const s of signals) {
    const feature = signalFeatureName(s);
    const list = byFeature.get(feature) ?? [];
    list.push({
      value: s.value,
      atMs: Date.parse(s.timestamp),
      expiresMs: expiresAt(s),
      scope: s.scope,
      match: s.scope.kind === 'attributes' ? Object.entries(s.scope.match) : null,
    });
    byFeature.set(feature, list);
  }
  return [...byFeature].map(([feature, candidates]) => ({
    feature,
    candidates: candidates.sort((a, b) => SPECIFICITY[b.scope.kind] - SPECIFICITY[a.scope.kind] || b.atMs - a.atMs),
  }));
}

function candidateInScope(c: PreparedCandidate, experimentKey: string, context: Readonly<Record<string, unknown>>): boolean {
  if (c.match) {
    for (const [k, v] of c.match) if (context[k] !== v) return false;
    return true;
  }
  return c.scope.kind !== 'experiments' || c.scope.experiments.includes(experimentKey);
}

/**
 * Writes the value of each in-scope, current signal into `out` as a feature
 * (`signal.<source>.<name>`). Expiry is checked against `nowMs`, so a cache between refreshes never
 * serves a stale value.
 */
export function writeSignalFeatures(
  out: Record<string, unknown>,
  signals: readonly PreparedSignal[],
  experimentKey: string,
  context: Readonly<Record<string, unknown>>,
  nowMs: number,
): void {
  for (const g of signals) {
    for (const c of g.candidates) {
      if (c.atMs > nowMs + FUTURE_SKEW_MS || c.expiresMs <= nowMs || !candidateInScope(c, experimentKey, context)) continue;
      out[g.feature] = c.value;
      break;
    }
  }
}

/** The value of each in-scope, current signal as a feature (`signal.<source>.<name>`). */
export function signalFeatures(
  signals: readonly ContextSignal[],
  experimentKey: string,
  context: Readonly<Record<string, unknown>>,
  nowMs: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  writeSignalFeatures(out, prepareSignals(signals), experimentKey, context, nowMs);
  return out;
}

function assertNever(x: never): never {
  throw new Error(`unexpected scope ${JSON.stringify(x)}`);
}
