/** Request schemas of the context and unit routes; types are inferred from them. */
import { z } from 'zod';
import { feedMappingSchema } from '../domain/context/feed-mapping.js';
import type { ContextSignal, SignalScope } from '../domain/context/signals.js';
import { storableDateTime } from '../domain/storable-time.js';

const experimentKey = z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'not a valid experiment key');
// PostgreSQL's jsonb cannot hold \u0000: refuse it here rather than fail the insert.
const noNul = (v: string) => !v.includes('\u0000');
const attrValue = z.union([z.string().max(200).refine(noNul, 'must not contain \\u0000'), z.number().finite(), z.boolean()]);
const attrName = z.string().min(1).max(100).refine(noNul, 'must not contain \\u0000');

/** "global" (default), a list of experiment keys, or an attribute filter such as {country: "PT"}. */
const scopeInputSchema = z
  .union([
    z.literal('global'),
    z.array(experimentKey).min(1).max(100),
    z
      .record(attrName, attrValue)
      .refine((m) => Object.keys(m).length > 0 && Object.keys(m).length <= 10, 'an attribute filter needs 1-10 attributes'),
  ])
  .default('global');

export function toScope(input: z.infer<typeof scopeInputSchema>): SignalScope {
  if (input === 'global') return { kind: 'global' };
  if (Array.isArray(input)) return { kind: 'experiments', experiments: [...new Set(input)] };
  return { kind: 'attributes', match: input };
}

const MIN_TS = Date.parse('1970-01-01T00:00:00Z');
const MAX_TS = Date.parse('9999-12-31T23:59:59Z');

const signalInputSchema = z
  .object({
    // No dots in a source, so `source.name` reads one way only.
    source: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'use 1-64 letters, digits, _ or -'),
    name: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'use 1-100 letters, digits or _ . : -'),
    value: z.number().finite(),
    timestamp: z.iso
      .datetime({ offset: true })
      .refine((t) => Date.parse(t) >= MIN_TS && Date.parse(t) <= MAX_TS, 'must be between 1970 and 9999'),
    /** Seconds the value stays current; omitted = until a newer value. */
    ttl: z.number().int().positive().max(365 * 86_400).optional(),
    scope: scopeInputSchema,
  })
  .strict();

const MAX_SIGNALS_PER_BATCH = 1000;
export const signalsBatchSchema = z.object({
  signals: z.array(signalInputSchema).min(1).max(MAX_SIGNALS_PER_BATCH, `at most ${MAX_SIGNALS_PER_BATCH} signals per batch`),
});

/** A single signal, `{signals: [...]}` or a bare array: always a list. */
export function parseSignalsBody(body: unknown): { signals: unknown } {
  if (Array.isArray(body)) return { signals: body };
  if (body && typeof body === 'object' && 'signals' in body) return body as { signals: unknown };
  return { signals: [body] };
}

export function toSignal(s: z.infer<typeof signalInputSchema>): ContextSignal {
  return { source: s.source, name: s.name, value: s.value, timestamp: new Date(s.timestamp).toISOString(), ttlSeconds: s.ttl ?? null, scope: toScope(s.scope) };
}

export const contextSourceSchema = z
  .object({
    key: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'use 2-63 lowercase letters, digits or dashes'),
    url: z
      .string()
      .url()
      .max(2000)
      .refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL'),
    intervalSeconds: z.number().int().min(1).max(7 * 86_400),
    mapping: feedMappingSchema,
    ttl: z.number().int().positive().max(365 * 86_400).optional(),
    scope: scopeInputSchema,
  })
  .strict();

export const sourceKeyParam = z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'not a valid source key');

export const listSignalsSchema = z.object({
  source: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
  name: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/).optional(),
  since: storableDateTime.optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
});

/** A unit id as apps send it to /assign and /events. */
export const unitIdParam = z.string().min(1).max(200);

export type ContextSourceInput = z.infer<typeof contextSourceSchema>;
