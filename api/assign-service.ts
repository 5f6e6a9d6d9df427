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

const stickyKey = (experiment: string) => `expflow:sticky:${experiment}`;

export interface AssignResponse {
  variant: string;
  propensity: number;
  segment: number;
  snapshotVersion: number;
  enrolled: boolean;
  reason: string;
}

export class AssignService {
  constructor(
    private readonly cache: SnapshotCache,
    private readonly redis: Redis,
    private readonly exposures: ExposureLog,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async assign(req: AssignRequest): Promise<AssignResponse> {
    const prep = this.cache.get(req.experiment);
    if (!prep) throw new ApiError(404, 'unknown_experiment', `experiment: no running experiment '${req.experiment}'`);
    const snap = prep.snapshot;
    let fresh: Assignment = assignPrepared(req.unitId, prep, req.context);
    if (!snap.sticky && !prep.strata) return this.log(req, fresh, true);

    const stored = snap.sticky ? await this.redis.hget(stickyKey(req.experiment), req.unitId) : null;
    const previous = stored ? (JSON.parse(stored) as Assignment) : null;
    if (!previous) {
      const counterKey = stratumCounterKey(prep, fresh, req.context);
      if (counterKey) fresh = assignPrepared(req.unitId, prep, req.context, { counter: await this.redis.incr(counterKey) });
    }
    const decision = resolveSticky(previous, fresh, prep.variantKeys);
    if (decision.persist && snap.sticky) {
      // HSETNX: two API processes racing on a new unit agree on whichever wrote first.
      const won = await this.redis.hsetnx(stickyKey(req.experiment), req.unitId, JSON.stringify(decision.assignment));
      if (!won) return this.assign(req);
    }
    return this.log(req, decision.assignment, decision.persist);
  }

  private log(req: AssignRequest, a: Assignment, isFirst: boolean): AssignResponse {
    if (a.enrolled && isFirst) {
      this.exposures.push({
        experiment: req.experiment,
        unitId: req.unitId,
        variant: a.variant,
        propensity: a.propensity,
        segment: a.segment,
        snapshotVersion: a.snapshotVersion,
        context: req.context,
        assignedAt: this.now().toISOString(),
      });
    }
    return { variant: a.variant, propensity: a.propensity, segment: a.segment, snapshotVersion: a.snapshotVersion, enrolled: a.enrolled, reason: a.reason };
  }
}
