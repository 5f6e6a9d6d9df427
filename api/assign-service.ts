/**
 * Serves one assignment: the cached snapshot, the sticky record in Redis, the pure `assign`, and an
 * exposure pushed to the log. No Postgres or Temporal call sits on this path.
 */
import type { Redis } from 'ioredis';
import { assignPrepared, stratumCounterKey } from '../domain/assignment/assign.js';
import { resolveSticky } from '../domain/assignment/sticky.js';
import type { Assignment } from '../domain/types.js';
import { ApiError } from './errors.js';
import type { ExposureLog } from './exposure-log.js';
import type { AssignRequest } from './schemas.js';
import type { SnapshotCache } from './snapshot-cache.js';
import { StickyStore, decodeSticky, encodeSticky } from './sticky-store.js';
import type { UnitEdge } from './unit-edge.js';

/** What POST /assign answers: the assignment, without internals. */
export type AssignResponse = Pick<Assignment, 'variant' | 'propensity' | 'segment' | 'snapshotVersion' | 'enrolled' | 'reason'> & {
  /** Set when the sticky store could not be read in time: the answer is the plain hash assignment. */
  degraded?: 'sticky_unavailable';
  /** The served variant's payload from the experiment config ({} when it has none). */
  payload: Record<string, unknown>;
};

export interface AssignOptions {
  /** True once the caller has gone away; then nothing is logged for it. */
  abandoned?: () => boolean;
}

class StickyTimeout extends Error {}

/** Resolves or rejects like `p`, but rejects after `ms` if `p` has not settled. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new StickyTimeout(`sticky store did not answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

const EMPTY: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

export class AssignService {
  constructor(
    private readonly cache: SnapshotCache,
    private readonly redis: Redis,
    private readonly exposures: ExposureLog,
    /** Pseudonymises the unit id for storage and enriches/filters the context (privacy, derived features). */
    private readonly edge: UnitEdge,
    private readonly now: () => Date = () => new Date(),
    /** Longest wait for Redis on a request; past it the unit gets its hash assignment. */
    private readonly stickyTimeoutMs = 250,
  ) {
    this.sticky = new StickyStore(redis);
  }

  private readonly sticky: StickyStore;

  async assign(raw: AssignRequest, opts: AssignOptions = {}): Promise<AssignResponse> {
    const prep = this.cache.get(raw.experiment);
    if (!prep) throw new ApiError(404, 'unknown_experiment', `experiment: no running experiment '${raw.experiment}'`);
    // Bucketing hashes the raw id (so pseudonymising moves nobody); Redis and Postgres get the pseudonym.
    const rawUnitId = raw.unitId;
    const req: AssignRequest = { ...raw, unitId: this.edge.pseudonymise(rawUnitId), context: this.edge.enrich(raw.experiment, prep.snapshot.timeZone, raw.context, this.now().getTime()) };
    const fresh: Assignment = assignPrepared(rawUnitId, prep, req.context);
    if (!prep.snapshot.sticky && !prep.strata) return this.log(req, fresh, 'first', opts);
    let answered = false;
    // A lookup that finishes after the timeout must not log what it would have served.
    const inner: AssignOptions = { abandoned: () => answered || !!opts.abandoned?.() };
    try {
      return await within(this.assignSticky(rawUnitId, req, prep, fresh, inner), this.stickyTimeoutMs);
    } catch (e) {
      answered = true;
      if (e instanceof ApiError) throw e;
      // Redis is down or slow: answer from the snapshot alone. A sticky write still in flight stores
      // exactly this fresh assignment, so the unit sees the same variant once Redis is back.
      this.degradedSince ??= Date.now();
      const res = this.log(req, fresh, 'returning', opts);
      return { ...res, degraded: 'sticky_unavailable' };
    }
  }

  /** When the last sticky lookup failed, or null once one succeeds again (for /health). */
  degradedSince: number | null = null;

  private async assignSticky(rawUnitId: string, req: AssignRequest, prep: NonNullable<ReturnType<SnapshotCache['get']>>, freshIn: Assignment, opts: AssignOptions): Promise<AssignResponse> {
    const snap = prep.snapshot;
    let fresh = freshIn;

    let previous: Assignment | null;
    let stored = false;
    if (snap.sticky && fresh.enrolled && !prep.strata) {
      // The common case, a new enrolled unit: store-if-absent, returning whatever was there, batched
      // with the other units of this turn. Two API processes racing on a unit agree on whichever
      // wrote first.
      const existing = await this.sticky.getOrSet(req.experiment, req.unitId, encodeSticky(fresh));
      previous = existing ? decodeSticky(existing) : null;
      stored = previous === null;
    } else {
      const existing = snap.sticky ? await this.sticky.get(req.experiment, req.unitId) : null;
      previous = existing ? decodeSticky(existing) : null;
      if (!previous) {
        const counterKey = stratumCounterKey(prep, fresh, req.context);
        if (counterKey) {
          const counter = await this.redis.incr(counterKey);
          // A caller answered meanwhile (Redis was slow) holds the hash assignment: store that one, so
          // the unit keeps its variant; the block slot goes unused.
          if (!opts.abandoned?.()) fresh = assignPrepared(rawUnitId, prep, req.context, { counter });
        }
      }
    }
    const decision = resolveSticky(previous, fresh, prep.variantKeys);
    if (decision.persist && snap.sticky && !stored) {
      if (previous) await this.sticky.set(req.experiment, req.unitId, encodeSticky(decision.assignment));
      else if (!(await this.sticky.setIfAbsent(req.experiment, req.unitId, encodeSticky(decision.assignment)))) return this.assignSticky(rawUnitId, req, prep, freshIn, opts);
      // Answered with the hash assignment while this write was in flight: store what the caller got.
      if (opts.abandoned?.() && decision.assignment.variant !== freshIn.variant) await this.sticky.set(req.experiment, req.unitId, encodeSticky(freshIn));
    }
    this.degradedSince = null;
    // Returning units are logged too (at most every few minutes): if a crash lost the first exposure
    // after its sticky record was written, a later visit restores it (ingest keeps the first per unit).
    return this.log(req, decision.assignment, decision.source === 'fresh' ? 'first' : 'returning', opts);
  }

  private log(req: AssignRequest, a: Assignment, visit: 'first' | 'returning', opts: AssignOptions): AssignResponse {
    // An abandoned request logs nothing: its caller never saw a variant, so no exposure happened.
    if (a.enrolled && !opts.abandoned?.()) {
      const record = {
        experiment: req.experiment,
        unitId: req.unitId,
        variant: a.variant,
        propensity: a.propensity,
        segment: a.segment,
        snapshotVersion: a.snapshotVersion,
        context: this.edge.storable(req.context, req.consent),
        assignedAt: this.now().toISOString(),
      };
      if (visit === 'first') this.exposures.push(record);
      else this.exposures.pushReturning(record);
    }
    const payload = this.cache.get(req.experiment)?.snapshot.variants.find((v) => v.key === a.variant)?.payload ?? EMPTY;
    return { variant: a.variant, propensity: a.propensity, segment: a.segment, snapshotVersion: a.snapshotVersion, enrolled: a.enrolled, reason: a.reason, payload };
  }
}
