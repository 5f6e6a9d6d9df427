/** Accepts a validated batch of outcome events and enqueues it as one BullMQ job. */
import type { Queue } from 'bullmq';
import type { EventsJob, OutcomeEvent } from '../infra/queues.js';
import { ApiError } from './errors.js';

export class EventsIngress {
  constructor(
    private readonly queue: Queue<EventsJob>,
    private readonly isKnownExperiment: (key: string) => boolean,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async enqueue(events: Array<Omit<OutcomeEvent, 'timestamp'> & { timestamp?: string }>): Promise<{ accepted: number }> {
    const unknown = events.findIndex((e) => !this.isKnownExperiment(e.experiment));
    if (unknown >= 0) {
      throw new ApiError(422, 'unknown_experiment', `events[${unknown}].experiment: no experiment '${events[unknown]!.experiment}'`);
    }
    const at = this.now().toISOString();
    const items: OutcomeEvent[] = events.map((e) => ({ ...e, timestamp: e.timestamp ?? at }));
    await this.queue.add('events', { kind: 'events', items });
    return { accepted: items.length };
  }
}
