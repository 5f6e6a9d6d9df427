/**
 * The stickiness store in Redis: one hash per experiment, unit → first assignment (JSON).
 * Store-if-absent requests arriving in the same event-loop turn are sent as one script call per
 * experiment, so a burst of new units costs Redis one command instead of one per unit.
 *
 * Key rotation: fields are unit pseudonyms, which change with UNIT_ID_KEY. A lookup may name the
 * unit's pseudonym under the previous key too; a unit found only there is served that record and
 * it is copied to the current pseudonym in the same script, so a unit assigned before the rotation
 * keeps its variant (and its logged propensity) after it.
 */
import type { Redis } from 'ioredis';
import type { Assignment } from '../domain/types.js';

/**
 * ARGV = field1, previousField1, value1, …, with '' for no previous field; returns per field the
 * existing value (from the field, else from the previous field, then copied to the field) or
 * false (the value was stored).
 */
const GET_OR_SET_MANY = `local out = {}
for i = 1, #ARGV, 3 do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if not v and ARGV[i + 1] ~= '' then
    v = redis.call('HGET', KEYS[1], ARGV[i + 1])
    if v then redis.call('HSET', KEYS[1], ARGV[i], v) end
  end
  if v then out[#out + 1] = v else redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2]); out[#out + 1] = false end
end
return out`;

/** ARGV = field, previousField: the field's value, else the previous field's (copied to the field), else nil. */
const GET_CARRYING = `local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then
  v = redis.call('HGET', KEYS[1], ARGV[2])
  if v then redis.call('HSET', KEYS[1], ARGV[1], v) end
end
return v`;

type Pending = { field: string; previous: string; value: string; resolve: (v: string | null) => void; reject: (e: unknown) => void };
type WithScript = Redis & {
  stickyGetOrSetMany(key: string, ...args: string[]): Promise<Array<string | null>>;
  stickyGetCarrying(key: string, field: string, previous: string): Promise<string | null>;
};

const stickyKey = (experiment: string) => `expflow:sticky:${experiment}`;

/**
 * Stored form of a sticky assignment: `variant TAB propensity TAB segment TAB snapshotVersion`,
 * cheaper to build and parse on the hot path than JSON. Only enrolled assignments are stored.
 */
export function encodeSticky(a: Pick<Assignment, 'variant' | 'propensity' | 'segment' | 'snapshotVersion'>): string {
  return `${a.variant}\t${a.propensity}\t${a.segment}\t${a.snapshotVersion}`;
}

/** Inverse of `encodeSticky`; also reads the JSON records written before it existed. */
export function decodeSticky(raw: string): Assignment {
  if (raw.charCodeAt(0) === 123 /* { */) return JSON.parse(raw) as Assignment;
  const [variant, propensity, segment, version] = raw.split('\t');
  return { variant: variant!, propensity: Number(propensity), segment: Number(segment), snapshotVersion: Number(version), enrolled: true, reason: 'enrolled' };
}

export class StickyStore {
  private readonly redis: WithScript;
  private pending = new Map<string, Pending[]>();
  private scheduled = false;

  constructor(redis: Redis) {
    if (!('stickyGetOrSetMany' in redis)) redis.defineCommand('stickyGetOrSetMany', { numberOfKeys: 1, lua: GET_OR_SET_MANY });
    if (!('stickyGetCarrying' in redis)) redis.defineCommand('stickyGetCarrying', { numberOfKeys: 1, lua: GET_CARRYING });
    this.redis = redis as WithScript;
  }

  /**
   * Stores `value` for the unit unless one is stored (under `unitId`, or under `previousId`, the
   * unit's pseudonym under the previous key); resolves to the stored one, or null if this call stored it.
   */
  getOrSet(experiment: string, unitId: string, value: string, previousId?: string): Promise<string | null> {
    return new Promise((resolve, reject) => {
      const key = stickyKey(experiment);
      const list = this.pending.get(key) ?? [];
      list.push({ field: unitId, previous: previousId ?? '', value, resolve, reject });
      this.pending.set(key, list);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** The unit's record, under `unitId` or else under `previousId` (then copied to `unitId`). */
  get(experiment: string, unitId: string, previousId?: string): Promise<string | null> {
    if (previousId === undefined || previousId === unitId) return this.redis.hget(stickyKey(experiment), unitId);
    return this.redis.stickyGetCarrying(stickyKey(experiment), unitId, previousId);
  }

  set(experiment: string, unitId: string, value: string): Promise<number> {
    return this.redis.hset(stickyKey(experiment), unitId, value);
  }

  setIfAbsent(experiment: string, unitId: string, value: string): Promise<number> {
    return this.redis.hsetnx(stickyKey(experiment), unitId, value);
  }

  private flush(): void {
    this.scheduled = false;
    const batches = this.pending;
    this.pending = new Map();
    for (const [key, list] of batches) {
      this.redis.stickyGetOrSetMany(key, ...list.flatMap((p) => [p.field, p.previous, p.value])).then(
        (out) => list.forEach((p, i) => p.resolve(out[i] ?? null)),
        (e) => list.forEach((p) => p.reject(e)),
      );
    }
  }
}
