import { describe, expect, it } from 'vitest';
import {
  SnapshotError,
  assign,
  compileSnapshot,
  hashUnit,
  resolveSticky,
  SALT,
} from '../../../domain/assignment/index.js';
import type { AllocationSnapshot, Assignment, ExperimentPhase } from '../../../domain/types.js';
import { chiSquareP, makeSnapshot, segment } from './helpers.js';

const units = (n: number, prefix = 'u') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('assign: basics', () => {
  it('is deterministic and returns the snapshot version', () => {
    const snap = makeSnapshot();
    const a = assign('user-1', snap, {});
    expect(assign('user-1', snap, {})).toEqual(a);
    expect(assign('user-1', compileSnapshot(snap), {})).toEqual(a);
    expect(a).toMatchObject({ enrolled: true, reason: 'enrolled', snapshotVersion: 7, segment: 0 });
  });

  it('splits traffic by weight (chi-square) and logs the weight as propensity', () => {
    const snap = makeSnapshot();
    const counts: Record<string, number> = { control: 0, b: 0, c: 0 };
    for (const u of units(30_000)) {
      const a = assign(u, snap, {});
      counts[a.variant]!++;
      expect(a.propensity).toBe(snap.segments[0]!.weights[a.variant]);
    }
    expect(chiSquareP([counts.control!, counts.b!, counts.c!], [15_000, 9_000, 6_000])).toBeGreaterThan(0.001);
  });

  it('propensities of the arms a segment can serve sum to 1', () => {
    const snap = makeSnapshot({
      segments: [segment(0, { control: 0.5, b: 0.3, c: 0.2 }), segment(1, { control: 0.1, b: 0.9 })],
      segmentFeatures: [{ name: 'x', mean: 0, std: 1 }],
    });
    snap.segments[0]!.centroid = [-1];
    snap.segments[1]!.centroid = [1];
    for (const [x, seg] of [[-2, 0], [2, 1]] as const) {
      const seen = new Map<string, number>();
      for (const u of units(2000)) {
        const a = assign(u, snap, { x });
        expect(a.segment).toBe(seg);
        seen.set(a.variant, a.propensity);
      }
      expect([...seen.values()].reduce((s, p) => s + p, 0)).toBeCloseTo(1, 12);
    }
  });

  it('never serves a zero-weight arm', () => {
    const snap = makeSnapshot({ segments: [segment(0, { control: 0, b: 1, c: 0 })] });
    for (const u of units(5000)) expect(assign(u, snap, {}).variant).toBe('b');
  });

  it.each<[ExperimentPhase, string]>([
    ['draft', 'not_started'],
    ['paused', 'paused'],
    ['stopped', 'stopped'],
    ['concluded', 'concluded'],
  ])('phase %s serves the default with reason %s', (phase, reason) => {
    const a = assign('u1', makeSnapshot({ phase, defaultVariant: 'b' }), {});
    expect(a).toMatchObject({ variant: 'b', enrolled: false, reason, propensity: 1, segment: -1 });
  });

  it('a concluded branching experiment serves each segment the answer it settled on', () => {
    const snap = makeSnapshot({
      phase: 'concluded',
      segmentFeatures: [{ name: 'tenure', mean: 10, std: 5 }],
      segments: [
        segment(1, { control: 1, b: 0, c: 0 }, { centroid: [-1] }),
        segment(2, { control: 0, b: 1, c: 0 }, { centroid: [1] }),
        segment(3, { control: 0, b: 0, c: 1 }, { centroid: [3], status: 'terminated' }),
      ],
    });
    expect(assign('u1', snap, { tenure: 4 })).toMatchObject({ variant: 'control', segment: 1, enrolled: false, reason: 'concluded' });
    expect(assign('u2', snap, { tenure: 16 })).toMatchObject({ variant: 'b', segment: 2, reason: 'concluded' });
    // A terminated segment gets the default, not its last weights.
    expect(assign('u3', snap, { tenure: 26 })).toMatchObject({ variant: 'control', reason: 'concluded' });
  });

  it('hash v2 also splits by weight', () => {
    const snap = makeSnapshot({ hashVersion: 2 });
    const counts: Record<string, number> = { control: 0, b: 0, c: 0 };
    for (const u of units(30_000)) counts[assign(u, snap, {}).variant]!++;
    expect(chiSquareP([counts.control!, counts.b!, counts.c!], [15_000, 9_000, 6_000])).toBeGreaterThan(0.001);
  });
});

describe('assign: eligibility', () => {
  const snap = makeSnapshot({
    targeting: { op: 'and', rules: [{ attr: 'country', op: 'in', values: ['US', 'CA'] }, { op: 'not', rule: { attr: 'email', op: 'regex', pattern: '@internal\\.' } }] },
  });
  it.each<[Record<string, string>, boolean]>([
    [{ country: 'US', email: 'a@b.com' }, true],
    [{ country: 'CA' }, true],
    [{ country: 'DE' }, false],
    [{ country: 'US', email: 'me@internal.acme' }, false],
    [{}, false],
  ])('%j eligible=%s', (ctx, eligible) => {
    const a = assign('u1', snap, ctx);
    expect(a.enrolled).toBe(eligible);
    if (!eligible) expect(a).toMatchObject({ reason: 'not_eligible', variant: 'control' });
  });
  it('refuses a snapshot with an invalid regex', () => {
    expect(() => compileSnapshot(makeSnapshot({ targeting: { attr: 'a', op: 'regex', pattern: '[' } }))).toThrow(/invalid regex/);
  });
});

describe('assign: holdout and mutual-exclusion layers', () => {
  it('holds out the configured fraction', () => {
    const snap = makeSnapshot({ holdout: 0.1 });
    const held = units(20_000).filter((u) => assign(u, snap, {}).reason === 'holdout').length;
    expect(held / 20_000).toBeGreaterThan(0.09);
    expect(held / 20_000).toBeLessThan(0.11);
  });

  it('two experiments with disjoint ranges in a layer never share a unit, and together cover it', () => {
    const layerA = makeSnapshot({ experimentKey: 'a', seed: 'seed-a', layer: { name: 'homepage', start: 0, end: 0.4 } });
    const layerB = makeSnapshot({ experimentKey: 'b', seed: 'seed-b', layer: { name: 'homepage', start: 0.4, end: 1 } });
    let inA = 0;
    let inB = 0;
    for (const u of units(20_000)) {
      const a = assign(u, layerA, {});
      const b = assign(u, layerB, {});
      expect(a.enrolled && b.enrolled).toBe(false);
      expect(a.enrolled || b.enrolled).toBe(true);
      if (a.enrolled) inA++;
      else expect(a.reason).toBe('layer');
      if (b.enrolled) inB++;
    }
    expect(inA / 20_000).toBeCloseTo(0.4, 1);
    expect(inB / 20_000).toBeCloseTo(0.6, 1);
  });

  it('the layer holdout is the same units for every experiment in the layer, spread across ranges', () => {
    const layerA = makeSnapshot({ seed: 'seed-a', holdout: 0.05, layer: { name: 'L', start: 0, end: 0.5 } });
    const layerB = makeSnapshot({ seed: 'seed-b', holdout: 0.05, layer: { name: 'L', start: 0.5, end: 1 } });
    let heldA = 0;
    for (const u of units(20_000)) {
      const a = assign(u, layerA, {});
      const b = assign(u, layerB, {});
      expect(a.reason === 'holdout').toBe(b.reason === 'holdout');
      if (a.reason === 'holdout') heldA++;
    }
    expect(heldA / 20_000).toBeCloseTo(0.05, 2);
  });

  it('the variant draw is independent of the layer bucket (no arm skew inside a range)', () => {
    const snap = makeSnapshot({ layer: { name: 'L', start: 0, end: 0.3 } });
    const counts: Record<string, number> = { control: 0, b: 0, c: 0 };
    let n = 0;
    for (const u of units(60_000)) {
      const a = assign(u, snap, {});
      if (a.enrolled) {
        counts[a.variant]!++;
        n++;
      }
    }
    expect(chiSquareP([counts.control!, counts.b!, counts.c!], [0.5 * n, 0.3 * n, 0.2 * n])).toBeGreaterThan(0.001);
  });
});

describe('assign: segments and coverage', () => {
  const base = (over: Partial<AllocationSnapshot> = {}) =>
    makeSnapshot({
      segmentFeatures: [
        { name: 'spend', mean: 100, std: 50 },
        { name: 'visits', mean: 10, std: 5 },
      ],
      segments: [
        segment(0, { control: 0.5, b: 0.5 }, { centroid: [-1, -1] }),
        segment(1, { control: 0.2, b: 0.8 }, { centroid: [1, 1] }),
        segment(2, { control: 1 }, { centroid: null }),
      ],
      ...over,
    });

  it.each<[Record<string, number>, number]>([
    [{ spend: 40, visits: 4 }, 0],
    [{ spend: 180, visits: 16 }, 1],
    // z = (1.2, −1.6): squared distance 5.2 to (−1,−1) and 6.8 to (1,1), so the low segment wins.
    [{ spend: 160, visits: 2 }, 0],
  ])('nearest centroid for %j', (ctx, expected) => {
    expect(assign('u1', base(), ctx).segment).toBe(expected);
  });

  it('missing features go to the catch-all segment', () => {
    expect(assign('u1', base(), { spend: 10 }).segment).toBe(2);
  });

  it('without features, everyone is in the first active segment', () => {
    const snap = makeSnapshot({ segments: [segment(4, { control: 1 }, { status: 'terminated' }), segment(5, { control: 0.5, b: 0.5 })] });
    expect(assign('u1', snap, {}).segment).toBe(5);
  });

  it('terminated segments serve the default with a reason', () => {
    const snap = base();
    snap.segments[1]!.status = 'terminated';
    const a = assign('u1', snap, { spend: 200, visits: 20 });
    expect(a).toMatchObject({ enrolled: false, reason: 'segment_terminated', segment: 1, variant: 'control' });
  });

  it('throttled segments enrol only their coverage, and raising coverage only adds units', () => {
    const at = (coverage: number) => {
      const snap = makeSnapshot({ segments: [segment(0, { control: 0.5, b: 0.3, c: 0.2 }, { status: 'throttled', coverage })] });
      return new Set(units(20_000).filter((u) => assign(u, snap, {}).enrolled));
    };
    const low = at(0.2);
    const high = at(0.5);
    expect(low.size / 20_000).toBeCloseTo(0.2, 1);
    expect(high.size / 20_000).toBeCloseTo(0.5, 1);
    for (const u of low) expect(high.has(u)).toBe(true);
    const snap = makeSnapshot({ segments: [segment(0, { control: 1 }, { coverage: 0.2 })] });
    const notCovered = units(200).map((u) => assign(u, snap, {})).find((a) => !a.enrolled);
    expect(notCovered).toMatchObject({ reason: 'coverage', segment: 0, propensity: 1 });
  });
});

describe('stickiness', () => {
  it('weight changes only move new units', () => {
    const v1 = makeSnapshot({ version: 1, segments: [segment(0, { control: 1 / 3, b: 1 / 3, c: 1 / 3 })] });
    const v2 = makeSnapshot({ version: 2, segments: [segment(0, { control: 0.1, b: 0.1, c: 0.8 })] });
    const store = new Map<string, Assignment>();
    const serve = (u: string, snap: AllocationSnapshot) => {
      const d = resolveSticky(store.get(u), assign(u, snap, {}), ['control', 'b', 'c']);
      if (d.persist) store.set(u, d.assignment);
      return d.assignment;
    };
    const old = units(5000, 'old');
    const first = new Map(old.map((u) => [u, serve(u, v1)]));
    let moved = 0;
    for (const u of old) {
      const again = serve(u, v2);
      expect(again.variant).toBe(first.get(u)!.variant);
      expect(again.propensity).toBe(first.get(u)!.propensity);
      expect(again.snapshotVersion).toBe(1);
      if (assign(u, v2, {}).variant !== first.get(u)!.variant) moved++;
    }
    expect(moved).toBeGreaterThan(1000); // without stickiness many would have moved
    const fresh = units(10_000, 'new').map((u) => serve(u, v2));
    expect(fresh.filter((a) => a.variant === 'c').length / 10_000).toBeCloseTo(0.8, 1);
  });

  it.each([
    ['stopped experiments override', { reason: 'stopped', enrolled: false }, 'fresh'],
    ['terminated segments override', { reason: 'segment_terminated', enrolled: false }, 'fresh'],
    ['ineligible units override', { reason: 'not_eligible', enrolled: false }, 'fresh'],
    ['layer exclusivity overrides', { reason: 'layer', enrolled: false }, 'fresh'],
    ['the holdout overrides', { reason: 'holdout', enrolled: false }, 'fresh'],
    ['paused experiments keep enrolled units', { reason: 'paused', enrolled: false }, 'previous'],
    ['coverage cut keeps enrolled units', { reason: 'coverage', enrolled: false }, 'previous'],
  ] as const)('%s', (_n, freshOver, source) => {
    const previous: Assignment = { variant: 'b', propensity: 0.3, segment: 0, snapshotVersion: 1, enrolled: true, reason: 'enrolled' };
    const fresh: Assignment = { variant: 'control', propensity: 1, segment: 0, snapshotVersion: 2, ...freshOver };
    expect(resolveSticky(previous, fresh).source).toBe(source);
  });

  it('a removed variant or a non-enrolled previous result does not stick', () => {
    const fresh: Assignment = { variant: 'c', propensity: 0.5, segment: 0, snapshotVersion: 2, enrolled: true, reason: 'enrolled' };
    const gone: Assignment = { variant: 'x', propensity: 0.5, segment: 0, snapshotVersion: 1, enrolled: true, reason: 'enrolled' };
    expect(resolveSticky(gone, fresh, new Set(['control', 'c']))).toEqual({ assignment: fresh, source: 'fresh', persist: true });
    const notCovered: Assignment = { variant: 'control', propensity: 1, segment: 0, snapshotVersion: 1, enrolled: false, reason: 'coverage' };
    expect(resolveSticky(notCovered, fresh).source).toBe('fresh');
    expect(resolveSticky(null, { ...fresh, enrolled: false, reason: 'coverage' }).persist).toBe(false);
  });
});

describe('snapshot validation', () => {
  it.each<[string, Partial<AllocationSnapshot>, RegExp]>([
    ['weights not summing to 1', { segments: [segment(0, { control: 0.5, b: 0.2 })] }, /sum to/],
    ['unknown variant', { segments: [segment(0, { control: 0.5, zz: 0.5 })] }, /unknown variant 'zz'/],
    ['bad default', { defaultVariant: 'nope' }, /defaultVariant/],
    ['bad hash version', { hashVersion: 9 }, /hashVersion 9/],
    ['bad layer', { layer: { name: 'L', start: 0.5, end: 0.5 } }, /layer range/],
    ['bad holdout', { holdout: 1 }, /holdout/],
  ])('%s', (_n, over, msg) => {
    expect(() => compileSnapshot(makeSnapshot(over))).toThrow(SnapshotError);
    expect(() => compileSnapshot(makeSnapshot(over))).toThrow(msg);
  });
});

describe('hash salts in use', () => {
  it('the variant draw is the documented hash of (seed, unit, "variant")', () => {
    const snap = makeSnapshot({ segments: [segment(0, { control: 0.5, b: 0.5 })] });
    for (const u of units(200)) {
      const expected = hashUnit(snap.seed, u, SALT.variant, 1) < 0.5 ? 'control' : 'b';
      expect(assign(u, snap, {}).variant).toBe(expected);
    }
  });
});
