/**
 * What Postgres cannot store, found before a row reaches it: a NUL character or an unpaired
 * surrogate (in values and in object keys, nested ones included) and a timestamp outside the
 * stored days.
 */
import { addDays, dayOf, dayStart, retentionStart } from '../storage/partition-plan.js';

export interface TextProblem {
  /** Where: a dotted path with [i] for array items; "" for the value itself. */
  path: string;
  message: string;
}

const NUL_MESSAGE = 'must not contain the NUL character (\\u0000)';
const SURROGATE_MESSAGE = 'must not contain an unpaired UTF-16 surrogate';

/** `String.prototype.isWellFormed` (Node 20; not yet in the ES2022 lib typings). */
const wellFormed = (s: string) => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * An object key refused wherever it appears. JSON.parse keeps "__proto__" as a field, but copying
 * the object (zod's records, Prisma's JSON handling) assigns it, which sets a prototype instead:
 * zod silently dropped the field, and Prisma failed the write with a TypeError (a 500 the fuzzer
 * found on POST /models).
 */
export const PROTO_KEY = '__proto__';
export const PROTO_KEY_MESSAGE = 'the key "__proto__" is not accepted: copied, it sets a prototype instead of a field';

function keyProblem(k: string): string | null {
  return k === PROTO_KEY ? PROTO_KEY_MESSAGE : textProblem(k);
}

function textProblem(s: string): string | null {
  if (s.indexOf('\u0000') !== -1) return NUL_MESSAGE;
  return wellFormed(s) ? null : SURROGATE_MESSAGE;
}

/** Deeper JSON is refused: it buys nothing and would exhaust stacks (here and in Postgres). */
export const MAX_JSON_DEPTH = 32;

/**
 * The first string or object key Postgres cannot store, or null: text and jsonb refuse U+0000, and
 * jsonb refuses an unpaired surrogate (text would silently turn it into U+FFFD). Objects nested
 * deeper than MAX_JSON_DEPTH are refused too.
 */
export function findUnstorableText(value: unknown, path = '', depth = 0): TextProblem | null {
  if (typeof value === 'string') {
    const m = textProblem(value);
    return m === null ? null : { path, message: m };
  }
  if (value === null || typeof value !== 'object') return null;
  if (depth >= MAX_JSON_DEPTH) return { path, message: `nested deeper than ${MAX_JSON_DEPTH} levels` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = findUnstorableText(value[i], `${path}[${i}]`, depth + 1);
      if (p !== null) return p;
    }
    return null;
  }
  // for…in over own keys: this runs for every ingested event, and Object.entries allocates.
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue;
    const here = path ? `${path}.${k}` : k;
    const km = keyProblem(k);
    if (km !== null) return { path: here, message: km };
    const v = (value as Record<string, unknown>)[k];
    if (v === null || (typeof v !== 'object' && typeof v !== 'string')) continue;
    const p = findUnstorableText(v, here, depth + 1);
    if (p !== null) return p;
  }
  return null;
}

/**
 * Whether raw JSON text may hold a string Postgres cannot store, or the key "__proto__". JSON
 * carries U+0000 or an unpaired surrogate only as an escape (raw control characters are not valid
 * JSON, and decoded UTF-8 holds no surrogates), so text without a "\u0000" or "\uD800"-"\uDFFF"
 * escape needs no per-string walk; "__proto__" appears as such or with an escaped ASCII character.
 * An escaped backslash before "u0000" answers true too: a false alarm, which only costs the walk.
 */
export function mayHoldUnstorableText(raw: Buffer): boolean {
  if (raw.indexOf(PROTO_KEY) !== -1) return true;
  for (let i = raw.indexOf('\\u'); i !== -1; i = raw.indexOf('\\u', i + 2)) {
    if (/^(00[0-7]|d[89a-f])/i.test(raw.toString('latin1', i + 2, i + 6))) return true;
  }
  return false;
}

/** Like findUnstorableText, for objects nested deeper than MAX_JSON_DEPTH only (strings are not read). */
export function findTooDeep(value: unknown, path = '', depth = 0): TextProblem | null {
  if (value === null || typeof value !== 'object') return null;
  if (depth >= MAX_JSON_DEPTH) return { path, message: `nested deeper than ${MAX_JSON_DEPTH} levels` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (v === null || typeof v !== 'object') continue;
      const p = findTooDeep(v, `${path}[${i}]`, depth + 1);
      if (p !== null) return p;
    }
    return null;
  }
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue;
    const v = (value as Record<string, unknown>)[k];
    if (v === null || typeof v !== 'object') continue;
    const p = findTooDeep(v, path ? `${path}.${k}` : k, depth + 1);
    if (p !== null) return p;
  }
  return null;
}

/** Instants an event may carry and still be stored: [from, until). */
export interface StorableRange {
  from: number;
  until: number;
  retentionDays: number;
  daysAhead: number;
}

/**
 * Events are kept `retentionDays` full days (the oldest kept day starts at `from`) and may run at
 * most `daysAhead` days ahead of the server's clock (to the end of that day).
 */
export function storableRange(now: Date, opts: { retentionDays: number; daysAhead: number }): StorableRange {
  return {
    from: retentionStart(now, opts.retentionDays).getTime(),
    until: dayStart(addDays(dayOf(now), opts.daysAhead + 1)).getTime(),
    ...opts,
  };
}

/** Why a timestamp (ms since the epoch) cannot be stored, or null when it can. */
export function timestampProblem(ts: number, range: StorableRange): string | null {
  if (!Number.isFinite(ts)) return 'not a valid time';
  if (ts < range.from) return `older than the retention window (${range.retentionDays} days, from ${new Date(range.from).toISOString()})`;
  if (ts >= range.until) return `more than ${range.daysAhead} day(s) ahead of the server's clock`;
  return null;
}
