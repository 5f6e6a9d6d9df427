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

/** HSETNX that also returns the existing value, in one round trip. */
const HSETNX_GET = `local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then return v end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return false`;

type WithHsetnxget = Redis & { hsetnxget(key: string, field: string, value: string): Promise<string | null> };

/** Registers the script (sent once, then called by its SHA) on a connection. */
function withHsetnxget(redis: Redis): WithHsetnxget {
  if (!('hsetnxget' in redis)) redis.defineCommand('hsetnxget', { numberOfKeys: 1, lua: HSETNX_GET });
  return redis as WithHsetnxget;
}

/** What POST /assign answers: the assignment, without internals. */
export type AssignResponse = Pick<Assignment, 'variant' | 'propensity' | 'segment' | 'snapshotVersion' | 'enrolled' | 'reason'>;

export class AssignService {
  constructor(
    private readonly cache: SnapshotCache,
    private readonly redis: Redis,
    private readonly exposures: ExposureLog,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.scripted = withHsetnxget(redis);
  }

  private readonly scripted: WithHsetnxget;

  async assign(req: AssignRequest): Promise<AssignResponse> {
    const prep = this.cache.get(req.experiment);
    if (!prep) throw new ApiError(404, 'unknown_experiment', `experiment: no running experiment '${req.experiment}'`);
    const snap = prep.snapshot;
    let fresh: Assignment = assignPrepared(req.unitId, prep, req.context);
    if (!snap.sticky && !prep.strata) return this.log(req, fresh, true);

    const key = stickyKey(req.experiment);
    let previous: Assignment | null;
    let stored = false;
    if (snap.sticky && fresh.enrolled && !prep.strata) {
      // The common case, a new enrolled unit, costs one round trip: store-if-absent, returning
      // whatever was there. Two API processes racing on a unit agree on whichever wrote first.
      const existing = await this.scripted.hsetnxget(key, req.unitId, JSON.stringify(fresh));
      previous = existing ? (JSON.parse(existing) as Assignment) : null;
      stored = previous === null;
    } else {
      const existing = snap.sticky ? await this.redis.hget(key, req.unitId) : null;
      previous = existing ? (JSON.parse(existing) as Assignment) : null;
      if (!previous) {
        const counterKey = stratumCounterKey(prep, fresh, req.context);
        if (counterKey) fresh = assignPrepared(req.unitId, prep, req.context, { counter: await this.redis.incr(counterKey) });
      }
    }
    const decision = resolveSticky(previous, fresh, prep.variantKeys);
    if (decision.persist && snap.sticky && !stored) {
      if (previous) await this.redis.hset(key, req.unitId, JSON.stringify(decision.assignment));
      else if (!(await this.redis.hsetnx(key, req.unitId, JSON.stringify(decision.assignment)))) return this.assign(req);
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
