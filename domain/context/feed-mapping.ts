/**
 * Turns a pulled JSON document into signals with a field mapping, e.g. for
 * `{"data": [{"country": "PT", "temp": 31, "at": "2026-07-01T12:00:00Z"}]}`:
 * `{items: "data", fields: {temperature: "temp"}, timestamp: "at", attributes: {country: "country"}}`
 * gives one signal `temperature` per record, scoped to units with that country. Paths are dot
 * separated; numeric parts index arrays ("data.0.temp"). Values must be finite numbers (numeric
 * strings are accepted); anything else is reported, not guessed.
 */
import { z } from 'zod';
import type { ContextSignal, SignalScope } from './signals.js';

const path = z.string().regex(/^[^\u0000]{1,200}$/, 'use 1-200 characters, no \\u0000');

export const feedMappingSchema = z.object({
  /** Path to an array of records; omitted: the document itself is the one record. */
  items: path.optional(),
  /** Signal name → path of its numeric value within a record. */
  fields: z.record(z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'use up to 100 letters, digits or _ . : -'), path).refine((f) => Object.keys(f).length > 0, 'map at least one field'),
  /** Path of the observation time (ISO string, or epoch seconds/milliseconds); omitted: the poll time. */
  timestamp: path.optional(),
  /** Attribute name → path; when given, each record's signals are scoped to units with those attribute values. */
  attributes: z.record(z.string().regex(/^[^\u0000]{1,100}$/, 'use 1-100 characters, no \\u0000'), path).optional(),
});

export type FeedMapping = z.infer<typeof feedMappingSchema>;

export interface MappedFeed {
  signals: ContextSignal[];
  /** One line per value that could not be read, naming its path. */
  problems: string[];
}

/** Reads a dot path; undefined when any step is missing. */
export function readPath(doc: unknown, p: string): unknown {
  let cur: unknown = doc;
  for (const part of p.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? (/^\d+$/.test(part) ? cur[Number(part)] : undefined) : (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function toNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

function toTimestamp(v: unknown): string | null {
  if (typeof v === 'number' && Number.isFinite(v)) {
    // Below 1e11 it cannot be milliseconds of any date after 1973: read it as seconds.
    const ms = Math.abs(v) < 1e11 ? v * 1000 : v;
    const d = new Date(ms);
    return Number.isNaN(d.getTime()) ? null : d.toISOString();
  }
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : new Date(t).toISOString();
  }
  return null;
}

/** Maps a feed document to signals of `source`; `now` stamps records without a timestamp. */
export function mapFeed(
  doc: unknown,
  mapping: FeedMapping,
  opts: { source: string; now: string; ttlSeconds?: number | null; scope: SignalScope },
): MappedFeed {
  const problems: string[] = [];
  let records: unknown[];
  if (mapping.items) {
    const arr = readPath(doc, mapping.items);
    if (!Array.isArray(arr)) return { signals: [], problems: [`${mapping.items}: not an array`] };
    records = arr;
  } else {
    records = [doc];
  }
  const signals: ContextSignal[] = [];
  records.forEach((rec, i) => {
    const at = mapping.items ? `${mapping.items}[${i}].` : '';
    let timestamp = opts.now;
    if (mapping.timestamp) {
      const t = toTimestamp(readPath(rec, mapping.timestamp));
      if (t === null) {
        problems.push(`${at}${mapping.timestamp}: not a timestamp`);
        return;
      }
      timestamp = t;
    }
    let scope = opts.scope;
    if (mapping.attributes) {
      const match: Record<string, string | number | boolean> = {};
      for (const [attr, p] of Object.entries(mapping.attributes)) {
        const v = readPath(rec, p);
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
          problems.push(`${at}${p}: missing attribute ${attr}`);
          return;
        }
        // Stored in jsonb, which cannot hold \u0000.
        if (typeof v === 'string' && (v.includes('\u0000') || v.length > 200)) {
          problems.push(`${at}${p}: attribute ${attr} is not storable`);
          return;
        }
        match[attr] = v;
      }
      scope = { kind: 'attributes', match };
    }
    for (const [name, p] of Object.entries(mapping.fields)) {
      const value = toNumber(readPath(rec, p));
      if (value === null) {
        problems.push(`${at}${p}: not a finite number`);
        continue;
      }
      signals.push({ source: opts.source, name, value, timestamp, ttlSeconds: opts.ttlSeconds ?? null, scope });
    }
  });
  return { signals, problems };
}
