/**
 * Rotating UNIT_ID_KEY: the API runs with a new key and the old one as UNIT_ID_KEY_PREVIOUS. A unit
 * assigned before the rotation (its sticky record stored under its old pseudonym, with a variant the
 * current snapshot would no longer give it fresh) keeps that variant, and the record moves to its
 * new pseudonym; a new unit is stored under the new pseudonym only; deletion removes both.
 */
import { describe, expect, it } from 'vitest';
import { decodeSticky, encodeSticky } from '../../api/sticky-store.js';
import { assign } from '../../domain/assignment/assign.js';
import { at } from '../../domain/at.js';
import { loadSnapshot } from '../../infra/snapshot-store.js';
import { pseudonymiseUnitId } from '../../infra/unit-pseudonym.js';
import { abExperiment } from '../helpers/fixtures.js';
import { uniqueSuffix, waitFor } from '../helpers/services.js';
import { useStack, useStores } from '../helpers/stack.js';

const OLD_KEY = `old-key-${uniqueSuffix()}-0123456789`;
const NEW_KEY = `new-key-${uniqueSuffix()}-0123456789`;
const stack = useStack({ unitIdKey: NEW_KEY, unitIdKeyPrevious: OLD_KEY });
const { redis } = useStores(stack.config);

describe('UNIT_ID_KEY rotation', () => {
  it('keeps the variant of a unit assigned under the previous key, and moves its record to the new pseudonym', async () => {
    const key = `rotation-${uniqueSuffix()}`;
    const created = await stack.post('/experiments', abExperiment(key, { cycleIntervalSeconds: 3600, policy: { kind: 'fixed' } }));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const snapshot = await waitFor(() => loadSnapshot(redis, key), { what: 'the snapshot' });
    const hash = `expflow:sticky:${key}`;
    const other = (v: string) => (v === 'control' ? 'treatment' : 'control');
    // Records as an API under the old key stored them, each with the variant the snapshot would
    // NOT give the unit today (as after a weight change): only stickiness can serve it.
    const units = Array.from({ length: 20 }, (_, i) => `unit-${i}-${uniqueSuffix()}`);
    const before = new Map(units.map((u) => [u, other(assign(u, snapshot, {}).variant)]));
    for (const u of units) {
      await redis.hset(hash, pseudonymiseUnitId(OLD_KEY, u), encodeSticky({ variant: other(assign(u, snapshot, {}).variant), propensity: 0.5, segment: 0, snapshotVersion: snapshot.version }));
    }
    // Concurrent requests: the batched store-if-absent path.
    const served = await Promise.all(units.map((u) => stack.post('/assign', { experiment: key, unitId: u, context: {} })));
    for (const [i, u] of units.entries()) {
      const answer = at(served, i, 'served');
      expect(answer.status).toBe(200);
      expect({ unit: u, variant: answer.body.variant, reason: answer.body.reason }).toEqual({ unit: u, variant: before.get(u), reason: 'sticky' });
      const moved = await redis.hget(hash, pseudonymiseUnitId(NEW_KEY, u));
      expect(moved && decodeSticky(moved).variant).toBe(before.get(u));
    }
    // Served again, from the new pseudonym's record.
    const [first, second] = units;
    if (!first || !second) throw new Error('twenty units expected');
    const again = await stack.post('/assign', { experiment: key, unitId: first, context: {} });
    expect(again.body).toMatchObject({ variant: before.get(first), reason: 'sticky' });

    // A unit new since the rotation: fresh, and stored under the new pseudonym only.
    const fresh = `fresh-${uniqueSuffix()}`;
    const r = await stack.post('/assign', { experiment: key, unitId: fresh, context: {} });
    expect(r.body.variant).toBe(assign(fresh, snapshot, {}).variant);
    expect(await redis.hget(hash, pseudonymiseUnitId(NEW_KEY, fresh))).not.toBeNull();
    expect(await redis.hget(hash, pseudonymiseUnitId(OLD_KEY, fresh))).toBeNull();

    // Erasure removes the record under both pseudonyms.
    const del = await fetch(`${stack.api.url}/units/${encodeURIComponent(second)}`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(((await del.json()) as { stickyRecords: number }).stickyRecords).toBe(2);
    expect(await redis.hmget(hash, pseudonymiseUnitId(OLD_KEY, second), pseudonymiseUnitId(NEW_KEY, second))).toEqual([null, null]);
  }, 120_000);
});
