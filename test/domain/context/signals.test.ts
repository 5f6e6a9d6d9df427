import { describe, expect, it } from 'vitest';
import { mapFeed, readPath } from '../../../domain/context/feed-mapping.js';
import { withDerivedFeatures } from '../../../domain/context/derive-features.js';
import { matchReactionRules, planReactions, reactionRuleSchema } from '../../../domain/context/reaction-rules.js';
import { currentSignals, prepareSignals, signalFeatures, signalInScope, type ContextSignal, type SignalScope } from '../../../domain/context/signals.js';
import { isValidTimeZone, timeFeatures } from '../../../domain/context/time-features.js';

const T0 = Date.parse('2026-07-01T12:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const sig = (over: Partial<ContextSignal>): ContextSignal => ({ source: 'news', name: 'sentiment', value: 0, timestamp: at(0), scope: { kind: 'global' }, ...over });

describe('signal scope', () => {
  it.each<[SignalScope, string, Record<string, unknown>, boolean]>([
    [{ kind: 'global' }, 'exp-a', {}, true],
    [{ kind: 'experiments', experiments: ['exp-a', 'exp-b'] }, 'exp-a', {}, true],
    [{ kind: 'experiments', experiments: ['exp-b'] }, 'exp-a', {}, false],
    [{ kind: 'attributes', match: { country: 'PT' } }, 'exp-a', { country: 'PT' }, true],
    [{ kind: 'attributes', match: { country: 'PT' } }, 'exp-a', { country: 'ES' }, false],
    [{ kind: 'attributes', match: { country: 'PT', tier: 1 } }, 'exp-a', { country: 'PT', tier: '1' }, false],
    [{ kind: 'attributes', match: { country: 'PT' } }, 'exp-a', {}, false],
  ])('%j covers %s %j: %s', (scope, exp, ctx, expected) => {
    expect(signalInScope(scope, exp, ctx)).toBe(expected);
  });
});

describe('current values', () => {
  it('keeps the newest value per (id, scope) and drops expired and far-future ones', () => {
    const s = [
      sig({ value: 1, timestamp: at(-100) }),
      sig({ value: 2, timestamp: at(-10) }),
      sig({ value: 3, timestamp: at(-50), scope: { kind: 'attributes', match: { country: 'PT' } } }),
      sig({ name: 'volume', value: 9, timestamp: at(-100), ttlSeconds: 60 }),
      sig({ name: 'future', value: 5, timestamp: at(3600) }),
    ];
    const cur = currentSignals(s, T0);
    expect(cur.map((x) => [x.name, x.value]).sort()).toEqual([['sentiment', 2], ['sentiment', 3]]);
  });

  it('prefers the most specific in-scope value, then the newest; re-checks expiry', () => {
    const s = [
      sig({ value: -0.2, timestamp: at(-1) }),
      sig({ value: -0.9, timestamp: at(-30), scope: { kind: 'attributes', match: { country: 'PT' } } }),
      sig({ source: 'weather', name: 'temp', value: 31, timestamp: at(-30), ttlSeconds: 20 }),
    ];
    expect(signalFeatures(s, 'exp', { country: 'PT' }, T0)).toEqual({ 'signal.news.sentiment': -0.9 });
    expect(signalFeatures(s, 'exp', { country: 'ES' }, T0)).toEqual({ 'signal.news.sentiment': -0.2 });
    expect(signalFeatures(s, 'exp', {}, T0 - 15_000)).toEqual({ 'signal.news.sentiment': -0.2, 'signal.weather.temp': 31 });
  });
});

describe('time features', () => {
  it.each([
    ['UTC', '2026-07-01T12:30:00Z', 12, 3],
    ['Europe/Lisbon', '2026-07-01T12:30:00Z', 13, 3], // WEST, UTC+1
    ['Europe/Lisbon', '2026-01-01T12:30:00Z', 12, 4], // WET, UTC+0
    ['America/Los_Angeles', '2026-07-01T03:00:00Z', 20, 2], // previous day, UTC-7
    ['Asia/Kolkata', '2026-07-05T20:00:00Z', 1, 1], // Sunday 20:00 UTC is Monday 01:30 in India
  ])('%s at %s: hour %i, ISO weekday %i', (tz, iso, hour, day) => {
    expect(timeFeatures(Date.parse(iso), tz)).toEqual({ 'time.hourOfDay': hour, 'time.dayOfWeek': day });
  });

  it('validates zones', () => {
    expect(isValidTimeZone('Europe/Lisbon')).toBe(true);
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
  });

  it('derived features replace client values under their names; forged ones are dropped', () => {
    const context = { country: 'PT', 'time.hourOfDay': 3, 'signal.news.sentiment': 1, 'signal.forged.x': 9 };
    const f = withDerivedFeatures({ experimentKey: 'e', timeZone: 'UTC', context, signals: prepareSignals([sig({ value: -0.7 })]), nowMs: T0 });
    expect(f).toEqual({ country: 'PT', 'time.hourOfDay': 12, 'time.dayOfWeek': 3, 'signal.news.sentiment': -0.7 });
    expect(context['time.hourOfDay']).toBe(3);
  });
});

describe('reaction rules', () => {
  const rules = [
    reactionRuleSchema.parse({ signal: 'news.sentiment', below: -0.5, dampen: 0.5, halfLifeSeconds: 3600 }),
    reactionRuleSchema.parse({ signal: 'temp', above: 35, dampen: 0.3 }),
    reactionRuleSchema.parse({ signal: 'news.sentiment', below: -0.8, above: 0.9, dampen: 0.9 }),
  ];
  it.each([
    [{ source: 'news', name: 'sentiment', value: -0.6 }, [0]],
    [{ source: 'news', name: 'sentiment', value: -0.5 }, []],
    [{ source: 'news', name: 'sentiment', value: -0.85 }, [0, 2]],
    [{ source: 'news', name: 'sentiment', value: 0.95 }, [2]],
    [{ source: 'weather', name: 'temp', value: 36 }, [1]],
    [{ source: 'blog', name: 'sentiment', value: -0.9 }, []],
  ])('%j fires rules %j', (signal, fired) => {
    expect(matchReactionRules(rules, signal).map((r) => r.ruleIndex)).toEqual(fired);
  });

  it('carries severity and half-life, and a readable kind', () => {
    expect(matchReactionRules(rules, { source: 'news', name: 'sentiment', value: -0.6 })).toEqual([
      { ruleIndex: 0, severity: 0.5, halfLifeSeconds: 3600, kind: 'signal news.sentiment = -0.6 below -0.5' },
    ]);
  });

  it('rejects a rule without a threshold, naming the field', () => {
    const r = reactionRuleSchema.safeParse({ signal: 'x', dampen: 0.5 });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(['below']);
  });
});

describe('feed mapping', () => {
  it('maps records with timestamps and attribute scopes, and reports what it cannot read', () => {
    const doc = { data: [
      { country: 'PT', temp: 31, at: '2026-07-01T11:00:00Z' },
      { country: 'ES', temp: '33.5', at: 1782903600 },
      { country: 'FR', temp: 'hot', at: '2026-07-01T11:00:00Z' },
      { temp: 20, at: '2026-07-01T11:00:00Z' },
      { country: 'P\u0000T', temp: 20, at: '2026-07-01T11:00:00Z' },
    ] };
    const r = mapFeed(doc, { items: 'data', fields: { temperature: 'temp' }, timestamp: 'at', attributes: { country: 'country' } }, { source: 'weather', now: at(0), ttlSeconds: 600, scope: { kind: 'global' } });
    expect(r.signals).toEqual([
      { source: 'weather', name: 'temperature', value: 31, timestamp: '2026-07-01T11:00:00.000Z', ttlSeconds: 600, scope: { kind: 'attributes', match: { country: 'PT' } } },
      { source: 'weather', name: 'temperature', value: 33.5, timestamp: new Date(1782903600 * 1000).toISOString(), ttlSeconds: 600, scope: { kind: 'attributes', match: { country: 'ES' } } },
    ]);
    expect(r.problems).toEqual(['data[2].temp: not a finite number', 'data[3].country: missing attribute country', 'data[4].country: attribute country is not storable']);
  });

  it('reads a single document with the poll time and nested paths', () => {
    const r = mapFeed({ score: { value: -0.7 } }, { fields: { sentiment: 'score.value' } }, { source: 'news', now: at(0), scope: { kind: 'global' } });
    expect(r.signals).toEqual([{ source: 'news', name: 'sentiment', value: -0.7, timestamp: at(0), ttlSeconds: null, scope: { kind: 'global' } }]);
    expect(readPath({ a: [{ b: 1 }] }, 'a.0.b')).toBe(1);
    expect(mapFeed({ x: 1 }, { items: 'rows', fields: { a: 'x' } }, { source: 's', now: at(0), scope: { kind: 'global' } }).problems).toEqual(['rows: not an array']);
  });
});

describe('planReactions', () => {
  const rules = [reactionRuleSchema.parse({ signal: 'news.sentiment', below: -0.5, dampen: 0.5 })];
  const exps = [{ experimentKey: 'a', rules }, { experimentKey: 'b', rules }, { experimentKey: 'c', rules: [] }];
  it('reaches global and listed experiments, never via attribute scopes, once per rule with the newest signal', () => {
    const plan = planReactions(exps, [
      sig({ value: -0.6, timestamp: at(-20) }),
      sig({ value: -0.8, timestamp: at(-10) }),
      sig({ value: -0.9, timestamp: at(-5), scope: { kind: 'attributes', match: { country: 'PT' } } }),
      sig({ value: -0.7, timestamp: at(-1), scope: { kind: 'experiments', experiments: ['b'] } }),
      sig({ value: 0.3, timestamp: at(0) }),
    ]);
    expect(plan.map((p) => [p.experimentKey, p.signal.value])).toEqual([['a', -0.8], ['b', -0.7]]);
  });
});
