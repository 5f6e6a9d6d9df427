/** Accepts a validated batch of outcome events and enqueues it as one BullMQ job. */
import type { Queue } from 'bullmq';
import type { EventsJob, OutcomeEvent } from '../infra/queues.js';
import { ApiError } from './errors.js';

const ENQUEUE_TIMEOUT_MS = 2_000;

export class EventsIngress {
  constructor(
    private readonly queue: Queue<EventsJob>,
    private readonly isKnownExperiment: (key: string) => boolean,
    private readonly now: () => Date = () => new Date(),
    /** The queue connection's state ('ready' when Redis can take a batch). */
    private readonly queueStatus: () => string = () => 'ready',
  ) {}

  async enqueue(events: Array<Omit<OutcomeEvent, 'timestamp'> & { timestamp?: string }>): Promise<{ accepted: number }> {
    const unknown = events.findIndex((e) => !this.isKnownExperiment(e.experiment));
    if (unknown >= 0) {
      throw new ApiError(422, 'unknown_experiment', `events[${unknown}].experiment: no experiment '${events[unknown]!.experiment}'`);
    }
    const at = this.now().toISOString();
    const items: OutcomeEvent[] = events.map((e) => ({ ...e, timestamp: e.timestamp ?? at }));
    await this.durably(() => this.queue.add('events', { kind: 'events', items }));
    return { accepted: items.length };
  }

  /**
   * Runs the enqueue, or answers 503 with Retry-After when Redis cannot take it now: 202 means the
   * batch is in Redis. A late enqueue after a 503 is harmless: events dedupe on eventId.
   */
  private async durably(enqueue: () => Promise<unknown>): Promise<void> {
    const unavailable = (why: string) => new ApiError(503, 'ingest_unavailable', `events: cannot store the batch now (${why}); retry`, null, { 'retry-after': '5' });
    const status = this.queueStatus();
    if (status !== 'ready') throw unavailable(`queue connection ${status}`);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([enqueue(), new Promise((_, reject) => (timer = setTimeout(() => reject(unavailable(`no answer within ${ENQUEUE_TIMEOUT_MS} ms`)), ENQUEUE_TIMEOUT_MS)))]);
    } catch (e) {
      if (e instanceof ApiError) throw e;
      throw unavailable((e as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }
}
