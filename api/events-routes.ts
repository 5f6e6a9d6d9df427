/**
 * `POST /events` (JSON array, `{events: [...]}`, or NDJSON) and the dead-letter routes. Kept apart
 * from app.ts so the data plane's routes change in one place.
 */
import type { IncomingMessage } from 'node:http';
import express, { type Express } from 'express';
import { mayHoldUnstorableText } from '../domain/events/storable.js';
import type { Pool } from 'pg';
import { z } from 'zod';
import { listDeadLetters, replayDeadLetters } from '../infra/dead-letters.js';
import type { Queue } from 'bullmq';
import type { EventsJob } from '../infra/queues.js';
import type { Principal } from './auth.js';
import { ApiError, parseOrThrow } from './errors.js';
import { parseNdjson, type EventsIngress, type RawEvent } from './events-ingress.js';

const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl'];

export const listDeadLettersSchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  after: z.string().regex(/^\d{1,19}$/, 'a dead-letter id').optional(),
  includeReplayed: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
});

export const replayDeadLettersSchema = z.union([
  z.object({ ids: z.array(z.string().regex(/^\d{1,19}$/, 'a dead-letter id')).min(1).max(10_000) }).strict(),
  z.object({ all: z.literal(true), limit: z.number().int().min(1).max(100_000).default(10_000) }).strict(),
]);

function toRawEvents(body: unknown): RawEvent[] {
  if (typeof body === 'string') return parseNdjson(body);
  const list = Array.isArray(body) ? body : (body as { events?: unknown } | null)?.events;
  if (!Array.isArray(list)) throw new ApiError(400, 'invalid_request', 'events: send a JSON array of events, {"events": [...]}, or NDJSON');
  return list.map((json) => ({ json }));
}

/** Set on a POST /events request whose raw UTF-8 body cannot hold unstorable text (see mayHoldUnstorableText). */
const TEXT_CLEAN = Symbol('events body text is clean');

/**
 * The body parsers' `verify` hook: looks at the raw bytes of POST /events once, so the per-event
 * walk over every string can be skipped when no escape could produce NUL or a lone surrogate.
 * Only UTF-8 bodies qualify (other charsets are decoded from bytes this scan cannot read).
 */
export function markEventsText(req: IncomingMessage, _res: unknown, buf: Buffer, encoding: string | null): void {
  if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== '/events') return;
  if (/^utf-?8$/i.test(encoding ?? 'utf-8') && !mayHoldUnstorableText(buf)) (req as unknown as Record<symbol, boolean>)[TEXT_CLEAN] = true;
}

export function mountEventRoutes(app: Express, d: { events: EventsIngress; pool: Pool; queue: Queue<EventsJob> }): void {
  app.post('/events', express.text({ type: NDJSON_TYPES, limit: '2mb', verify: markEventsText }), async (req, res) => {
    try {
      const scope = (res.locals.principal as Principal | undefined)?.experiments ?? [];
      const textClean = (req as unknown as Record<symbol, boolean>)[TEXT_CLEAN] === true;
      res.status(202).json(await d.events.enqueue(toRawEvents(req.body), scope, { textClean }));
    } catch (e) {
      if (e instanceof ApiError && e.status === 429) res.setHeader('retry-after', String((e.details as { retryAfterSeconds: number }).retryAfterSeconds));
      throw e;
    }
  });

  app.get('/dead-letters', async (req, res) => {
    const q = parseOrThrow(listDeadLettersSchema, req.query);
    res.json({ deadLetters: await listDeadLetters(d.pool, { limit: q.limit, afterId: q.after, includeReplayed: q.includeReplayed }) });
  });

  app.post('/dead-letters/replay', async (req, res) => {
    const body = parseOrThrow(replayDeadLettersSchema, req.body ?? {});
    const out = await replayDeadLetters(d.pool, body, async (kind, items) => {
      await d.queue.add(`replay-${kind}`, { kind, items } as EventsJob);
    });
    res.json(out);
  });
}
