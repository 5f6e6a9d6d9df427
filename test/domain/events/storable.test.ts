import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, findTooDeep, findUnstorableText, mayHoldUnstorableText, storableRange, timestampProblem } from '../../../domain/events/storable.js';
import { createRng } from '../../../domain/rng.js';

describe('findUnstorableText', () => {
  it.each([
    [{ a: 'ok', b: [1, 'x', { c: null }], emoji: '😀' }, null, null],
    ['a\u0000b', '', /NUL/],
    [{ a: { b: ['x', 'y\u0000'] } }, 'a.b[1]', /NUL/],
    [{ ['k\u0000']: 1 }, 'k\u0000', /NUL/],
    [[{ a: 1 }, { b: 'z\u0000' }], '[1].b', /NUL/],
    [{ a: 'x\ud800y' }, 'a', /unpaired UTF-16 surrogate/],
    [{ ['\udc00']: 'v' }, '\udc00', /unpaired UTF-16 surrogate/],
    [JSON.parse('{"m":{"__proto__":{"plan":"pro"}}}'), 'm.__proto__', /"__proto__" is not accepted/],
  ])('%j → %j', (value, path, message) => {
    const got = findUnstorableText(value);
    if (path === null) expect(got).toBeNull();
    else {
      expect(got?.path).toBe(path);
      expect(got?.message).toMatch(message!);
    }
  });
});

describe('findUnstorableText depth', () => {
  it('refuses nesting deeper than the limit without exhausting the stack', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findUnstorableText({ a: deep })?.message).toBe(`nested deeper than ${MAX_JSON_DEPTH} levels`);
    let ok: unknown = 'x';
    for (let i = 0; i < MAX_JSON_DEPTH - 1; i++) ok = { k: ok };
    expect(findUnstorableText(ok)).toBeNull();
  });
});

describe('timestampProblem', () => {
  const now = new Date('2026-03-10T12:00:00Z');
  const range = storableRange(now, { retentionDays: 5, daysAhead: 1 });
  it.each([
    ['2026-03-10T11:00:00Z', null],
    ['2026-03-05T00:00:00Z', null],
    ['2026-03-11T23:59:59Z', null],
    ['2026-03-04T23:59:59Z', /^older than the retention window/],
    ['0000-01-01T00:00:00Z', /^older than the retention window/],
    ['2026-03-12T00:00:00Z', /ahead of the server's clock/],
    ['9999-12-31T23:59:59Z', /ahead of the server's clock/],
  ])('%s', (ts, expected) => {
    const got = timestampProblem(Date.parse(ts), range);
    if (expected === null) expect(got).toBeNull();
    else expect(got).toMatch(expected);
  });
  it('names an invalid time', () => {
    expect(timestampProblem(Date.parse('nope'), range)).toBe('not a valid time');
  });
});

describe('mayHoldUnstorableText (raw body pre-check)', () => {
  const raw = (s: string) => Buffer.from(s, 'utf8');
  it.each([
    ['{"a":"plain é 😀"}', false],
    ['{"a":"caf\\u00e9"}', false],
    ['{"a":"\\u0000"}', true],
    ['{"\\u0000":1}', true],
    ['{"a":"\\ud800"}', true],
    ['{"a":"\\uDFFF"}', true],
    ['{"a":"\\ud83d\\ude00"}', true], // a pair: a false alarm, the walk clears it
    ['{"a":"\\\\u0000"}', true], // an escaped backslash: a false alarm too
    ['{"a":"\\u00"}', false],
    ['{"__proto__":{"a":1}}', true],
    ['{"\\u005f_proto__":{"a":1}}', true], // the key spelled with an escape
  ])('%s → %s', (text, expected) => {
    expect(mayHoldUnstorableText(raw(text))).toBe(expected);
  });

  // Soundness: whenever the pre-check says "clean", the full walk finds nothing either.
  it('never calls clean a body the walk would refuse (random JSON, 20k strings)', () => {
    const rng = createRng(8);
    const risky = [0x0, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xd83d, 0xde00];
    const safe = [0x41, 0xe9, 0x5c, 0x22, 0x75, 0x30, 0x7f, 0x1f, 0xffff];
    const pick = (xs: number[]) => xs[Math.floor(rng() * xs.length)] ?? 0x41;
    const str = () => String.fromCharCode(...Array.from({ length: Math.floor(rng() * 6) }, () => pick(rng() < 0.04 ? risky : safe)));
    let clean = 0;
    let refused = 0;
    for (let i = 0; i < 4000; i++) {
      const doc = { [str()]: str(), nested: { [str()]: [str(), str()] }, n: 1 };
      const walk = findUnstorableText(JSON.parse(JSON.stringify(doc)));
      const maybe = mayHoldUnstorableText(Buffer.from(JSON.stringify(doc), 'utf8'));
      if (!maybe) {
        clean++;
        expect(walk, JSON.stringify(doc)).toBeNull();
      }
      if (walk) refused++;
    }
    expect(clean).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });

  it('findTooDeep finds depth like the full walk, without reading strings', () => {
    let deep: unknown = { x: 'a\u0000' };
    for (let i = 0; i < 40; i++) deep = { d: deep };
    expect(findTooDeep({ ok: { a: [1, { b: 'c\u0000' }] } })).toBeNull();
    expect(findTooDeep(deep)?.message).toBe(findUnstorableText(deep)?.message);
    expect(findTooDeep(deep)?.path).toBe(findUnstorableText(deep)?.path);
  });
});
