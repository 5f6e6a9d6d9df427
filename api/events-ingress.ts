/**
 * Takes a batch of outcome events, checks each one, and enqueues the good ones as one BullMQ job.
 *
 * - Per-event answers: the response lists each refused event by index with its reasons; the rest
 *   are accepted. Only a batch with no good event is refused as a whole.
 * - Durable before 202: the answer waits for Redis to acknowledge the job. Redis runs with AOF and
 *   `appendfsync everysec`, so an acknowledged batch survives a Redis crash, and at most the last
 *   second of them is lost if the machine itself fails before the fsync.
 * - Back-pressure: past `maxQueueDepth` queued jobs the API answers 429 with Retry-After instead of
 *   growing Redis without bound.
 */
import type { Queue } from 'bullmq';
import { findTooDeep, findUnstorableText, storableRange, timestampProblem, type StorableRange } from '../domain/events/storable.js';
import { MAX_DAYS_AHEAD } from '../infra/ingest.js';
import type { EventsJob, OutcomeEvent } from '../infra/queues.js';
import { ApiError, type FieldIssue } from './errors.js';
import { eventSchema } from './schemas.js';
import type { UnitEdge } from './unit-edge.js';

export interface IngressLimits {
  maxBatch: number;
  maxQueueDepth: number;
  retentionDays: number;
}

export interface RejectedEvent {
  index: number;
  errors: FieldIssue[];
}

export interface IngestAnswer {
  accepted: number;
  rejected: RejectedEvent[];
}

/** One element of a batch: parsed JSON, or a line of NDJSON that did not parse. */
export type RawEvent = { json: unknown } | { unparsable: string };

/** How long a measured queue depth is trusted: one Redis round trip per this, not per request. */
const DEPTH_TTL_MS = 200;
const RETRY_AFTER_SECONDS = 2;

const ENQUEUE_TIMEOUT_MS = 2_000;

export class EventsIngress {
  private depth = { value: 0, at: -Infinity };
  private depthRead: Promise<number> | null = null;

  constructor(
    private readonly queue: Queue<EventsJob>,
    private readonly isKnownExperiment: (key: string) => boolean,
    private readonly limits: IngressLimits,
    /** Pseudonymises the unit id and applies the context privacy policy to each accepted event. */
    private readonly edge: Pick<UnitEdge, 'pseudonymise' | 'storable'>,
    private readonly now: () => Date = () => new Date(),
    /** The queue connection's state ('ready' when Redis can take a batch). */
    private readonly queueStatus: () => string = () => 'ready',
  ) {}

  /**
   * `scope`: the experiments the caller's key is limited to (empty: all). A scoped key must name one
   * of them on every event; an event restricted elsewhere is answered as an unknown experiment, and
   * one without `experiment` (it would count in every experiment) is refused.
   */
  async enqueue(batch: RawEvent[], scope: readonly string[] = [], opts: { textClean?: boolean } = {}): Promise<IngestAnswer> {
    if (batch.length === 0) throw new ApiError(400, 'invalid_request', 'events: the batch is empty');
    if (batch.length > this.limits.maxBatch) {
      throw new ApiError(400, 'invalid_request', `events: at most ${this.limits.maxBatch} events per batch (got ${batch.length})`);
    }
    // Read through `durably` too: with Redis away the depth read would hang, not answer 503.
    if ((await this.durably(() => this.queueDepth())) >= this.limits.maxQueueDepth) {
      throw new ApiError(429, 'queue_full', `events: the ingest queue is full; retry after ${RETRY_AFTER_SECONDS} s`, { retryAfterSeconds: RETRY_AFTER_SECONDS });
    }
    const now = this.now();
    const range = storableRange(now, { retentionDays: this.limits.retentionDays, daysAhead: MAX_DAYS_AHEAD });
    const items: OutcomeEvent[] = [];
    const rejected: RejectedEvent[] = [];
    batch.forEach((raw, index) => {
      const r = this.check(raw, now, range, scope, opts.textClean === true);
      if ('errors' in r) rejected.push({ index, errors: r.errors });
      else items.push(r.event);
    });
    if (!items.length) {
      const [first] = rejected;
      if (!first) throw new ApiError(400, 'invalid_request', 'events: at least one event is required');
      const e = first.errors[0] ?? { field: '', message: 'invalid event' };
      // 422 when every event was well-formed but named an experiment that does not exist.
      const unknownOnly = rejected.every((r) => r.errors.every((x) => x.field === 'experiment' && x.message.startsWith('no experiment')));
      throw new ApiError(unknownOnly ? 422 : 400, unknownOnly ? 'unknown_experiment' : 'invalid_request', `events[${first.index}]${e.field ? `.${e.field}` : ''}: ${e.message}`, { rejected });
    }
    await this.durably(() => this.queue.add('events', { kind: 'events', items }));
    this.depth.value++;
    return { accepted: items.length, rejected };
  }

  /** `textClean`: the raw body cannot hold NUL or a lone surrogate, so only nesting depth is checked. */
  private check(raw: RawEvent, now: Date, range: StorableRange, scope: readonly string[], textClean: boolean): { event: OutcomeEvent } | { errors: FieldIssue[] } {
    if ('unparsable' in raw) return { errors: [{ field: '', message: `not valid JSON (${raw.unparsable})` }] };
    // The JSON as sent: the schema's copy would already have lost a "__proto__" key.
    const text = textClean ? findTooDeep(raw.json) : findUnstorableText(raw.json);
    const parsed = eventSchema.safeParse(raw.json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ field: i.path.map(String).join('.'), message: i.message }));
      return { errors: text !== null ? [{ field: text.path, message: text.message }, ...issues] : issues };
    }
    const e = parsed.data;
    const errors: FieldIssue[] = [];
    if (text !== null) errors.push({ field: text.path, message: text.message });
    if (e.experiment === undefined) {
      if (scope.length) errors.push({ field: 'experiment', message: `required: this key is limited to experiments (${scope.join(', ')}), and an event without one counts in every experiment` });
    } else if (!this.isKnownExperiment(e.experiment) || (scope.length && !scope.includes(e.experiment))) {
      // Outside the key's scope reads as unknown: a scoped key learns nothing about other experiments.
      errors.push({ field: 'experiment', message: `no experiment '${e.experiment}'` });
    }
    const problem = timestampProblem(e.timestamp === undefined ? now.getTime() : Date.parse(e.timestamp), range);
    if (problem) errors.push({ field: 'timestamp', message: problem });
    if (errors.length) return { errors };
    return {
      event: {
        eventId: e.eventId,
        // Validated raw, stored as its pseudonym (README, "Privacy").
        unitId: this.edge.pseudonymise(e.unitId),
        name: e.name,
        value: e.value,
        // The client's own ISO string (zod checked it) or the receive time: Postgres parses either.
        timestamp: e.timestamp ?? now.toISOString(),
        ...(e.experiment === undefined ? {} : { experiment: e.experiment }),
        properties: e.properties,
        context: this.edge.storable(e.context as Record<string, unknown>),
      },
    };
  }

  /** Jobs waiting in the queue, read from Redis at most every DEPTH_TTL_MS. */
  private async queueDepth(): Promise<number> {
    const t = Date.now();
    if (t - this.depth.at < DEPTH_TTL_MS) return this.depth.value;
    this.depthRead ??= this.queue.count().then(
      (n) => {
        this.depth = { value: n, at: Date.now() };
        this.depthRead = null;
        return n;
      },
      (e: unknown) => {
        this.depthRead = null;
        throw e;
      },
    );
    return this.depthRead;
  }

  /**
   * Runs the enqueue, or answers 503 with Retry-After when Redis cannot take it now: 202 means the
   * batch is in Redis. A late enqueue after a 503 is harmless: events dedupe on eventId.
   */
  private async durably<T>(op: () => Promise<T>): Promise<T> {
    const unavailable = (why: string) => new ApiError(503, 'ingest_unavailable', `events: cannot store the batch now (${why}); retry`, null, { 'retry-after': '5' });
    const status = this.queueStatus();
    if (status !== 'ready') throw unavailable(`queue connection ${status}`);
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([op(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(unavailable(`no answer within ${ENQUEUE_TIMEOUT_MS} ms`)), ENQUEUE_TIMEOUT_MS)))]);
    } catch (e) {
      if (e instanceof ApiError) throw e;
      throw unavailable((e as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Splits an NDJSON body into events: one JSON value per non-empty line. */
export function parseNdjson(body: string): RawEvent[] {
  const out: RawEvent[] = [];
  for (const line of body.split('\n')) {
    const t = line.trim();
    if (!t) continue;
    try {
      out.push({ json: JSON.parse(t) });
    } catch (e) {
      out.push({ unparsable: (e as Error).message.slice(0, 200) });
    }
  }
  return out;
}
