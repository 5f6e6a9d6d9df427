/**
 * Allocation snapshots in Redis: the latest per experiment, a set of experiment keys, and a pub/sub
 * channel that tells every API process to refresh. Writes are compare-and-set on the version, so a
 * retried (older) activity can never roll a snapshot back.
 */
import type { Redis } from 'ioredis';
import { allocationSnapshotSchema } from '../domain/experiment/snapshot-schema.js';
import type { AllocationSnapshot } from '../domain/types.js';
import { InvalidStoredDataError } from './errors.js';

export const SNAPSHOT_CHANNEL = 'expflow:snapshots';
const EXPERIMENTS_SET = 'expflow:experiments';
const snapshotKey = (experimentKey: string) => `expflow:snapshot:${experimentKey}`;

// KEYS[1] snapshot key, KEYS[2] set; ARGV[1] version, ARGV[2] json, ARGV[3] experiment key, ARGV[4] channel
const CAS_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local v = tonumber(string.match(cur, '"version":(%d+)'))
  if v and v >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[3] .. ':' .. ARGV[1])
return 1`;

const REPLACE_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[3] .. ':' .. ARGV[1])
return 1`;

/**
 * Stores and announces a snapshot if it is newer than the stored one; returns whether it was.
 * `replace` skips the version check: a newly created experiment replaces whatever an earlier one of
 * the same key left behind.
 */
export async function publishSnapshot(redis: Redis, snapshot: AllocationSnapshot, opts: { replace?: boolean } = {}): Promise<boolean> {
  // "version" must be the first numeric field the pattern meets, so serialise it first.
  const { version, ...rest } = snapshot;
  const json = JSON.stringify({ version, ...rest });
  const script = opts.replace ? REPLACE_SCRIPT : CAS_SCRIPT;
  const res = await redis.eval(script, 2, snapshotKey(snapshot.experimentKey), EXPERIMENTS_SET, version, json, snapshot.experimentKey, SNAPSHOT_CHANNEL);
  return res === 1;
}

/** A stored snapshot read back: parsed with the snapshot schema, or why it could not be. */
export type SnapshotRead = { ok: true; snapshot: AllocationSnapshot } | { ok: false; experimentKey: string; reason: string };

function parseStored(experimentKey: string, raw: string): SnapshotRead {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, experimentKey, reason: 'not JSON' };
  }
  const r = allocationSnapshotSchema.safeParse(json);
  if (r.success) return { ok: true, snapshot: r.data };
  const issue = r.error.issues[0];
  return { ok: false, experimentKey, reason: `${issue?.path.join('.') || 'snapshot'}: ${issue?.message ?? 'invalid'}` };
}

/** The experiment's stored snapshot, parsed; null when none is stored. */
export async function readSnapshot(redis: Redis, experimentKey: string): Promise<SnapshotRead | null> {
  const raw = await redis.get(snapshotKey(experimentKey));
  return raw === null ? null : parseStored(experimentKey, raw);
}

/** Every stored snapshot, parsed. */
export async function readAllSnapshots(redis: Redis): Promise<SnapshotRead[]> {
  const keys = await redis.smembers(EXPERIMENTS_SET);
  if (!keys.length) return [];
  const raws = await redis.mget(keys.map(snapshotKey));
  return keys.flatMap((key, i) => {
    const raw = raws[i];
    return typeof raw === 'string' ? [parseStored(key, raw)] : [];
  });
}

/** The stored snapshot, or null; an invalid one throws InvalidStoredDataError naming the field. */
export async function loadSnapshot(redis: Redis, experimentKey: string): Promise<AllocationSnapshot | null> {
  const read = await readSnapshot(redis, experimentKey);
  if (read === null) return null;
  if (!read.ok) throw new InvalidStoredDataError(`snapshot of '${experimentKey}' in Redis is invalid at ${read.reason}`);
  return read.snapshot;
}

/** Removes an experiment's snapshot (used when creation is rolled back). */
export async function deleteSnapshot(redis: Redis, experimentKey: string): Promise<void> {
  await redis.multi().del(snapshotKey(experimentKey)).srem(EXPERIMENTS_SET, experimentKey).exec();
  await redis.publish(SNAPSHOT_CHANNEL, `${experimentKey}:deleted`);
}
