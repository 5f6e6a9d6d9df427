import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, findUnstorableText, storableRange, timestampProblem } from '../../../domain/events/storable.js';

describe('findUnstorableText', () => {
  it.each([
    [{ a: 'ok', b: [1, 'x', { c: null }], emoji: '😀' }, null, null],
    ['a\u0000b', '', /NUL/],
    [{ a: { b: ['x', 'y\u0000'] } }, 'a.b[1]', /NUL/],
    [{ ['k\u0000']: 1 }, 'k\u0000', /NUL/],
    [[{ a: 1 }, { b: 'z\u0000' }], '[1].b', /NUL/],
    [{ a: 'x\ud800y' }, 'a', /unpaired UTF-16 surrogate/],
    [{ ['\udc00']: 'v' }, '\udc00', /unpaired UTF-16 surrogate/],
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
