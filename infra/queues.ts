/** BullMQ queues: "events" carries exposures and outcome events to Postgres, "notifications" webhooks. */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

const EVENTS_QUEUE = 'expflow-events';
const NOTIFICATIONS_QUEUE = 'expflow-notifications';

/**
 * A unit-scoped outcome event as queued: it counts for every experiment with a metric on `name`
 * that exposed `unitId` (within that experiment's attribution window), or, with `experiment`, for
 * that experiment only. `timestamp` is the client's, or the API's receive time when it gave none.
 */
export interface OutcomeEvent {
  eventId: string;
  unitId: string;
  name: string;
  value: number;
  timestamp: string;
  experiment?: string;
  properties?: Record<string, unknown>;
  context?: Record<string, unknown>;
}

export interface ExposureRecord {
  experiment: string;
  unitId: string;
  variant: string;
  propensity: number;
  segment: number;
  snapshotVersion: number;
  context: Record<string, unknown>;
  assignedAt: string;
}

export type EventsJob = { kind: 'events'; items: OutcomeEvent[] } | { kind: 'exposures'; items: ExposureRecord[] };

export interface NotificationJob {
  notificationId: string;
  /** Webhook or Slack URL, or `mailto:a@x,b@y` for e-mail. */
  url: string;
  body: Record<string, unknown>;
  /** Absent: a plain webhook (the job shape before channels existed). */
  channel?: 'webhook' | 'slack' | 'email';
}

export interface Queues {
  events: Queue<EventsJob>;
  notifications: Queue<NotificationJob>;
  /** A user's training queue (training policies with a BullMQ trainer), opened on first use. */
  trainer(name: string): Queue;
  close(): Promise<void>;
}

export function createQueues(connection: Redis, opts: { eventsQueue?: string; notificationsQueue?: string } = {}): Queues {
  const events = new Queue<EventsJob>(opts.eventsQueue ?? EVENTS_QUEUE, {
    connection,
    // Failed jobs stay in Redis (removeOnFail: false) so nothing is lost and they can be retried.
    // 12 exponential attempts from 0.5 s ride out about half an hour of Postgres being away; the
    // writer dead-letters a batch that still fails on its last one.
    defaultJobOptions: { attempts: 12, backoff: { type: 'exponential', delay: 500 }, removeOnComplete: 1000, removeOnFail: false },
  });
  const notifications = new Queue<NotificationJob>(opts.notificationsQueue ?? NOTIFICATIONS_QUEUE, {
    connection,
    defaultJobOptions: { attempts: 6, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: 1000, removeOnFail: false },
  });
  for (const q of [events, notifications]) q.on('error', (err) => console.error(`[queue] ${q.name}: ${err.message}`));
  const trainers = new Map<string, Queue>();
  return {
    events,
    notifications,
    trainer(name) {
      let q = trainers.get(name);
      if (!q) {
        // Kept after completion for the user's own inspection; a failed job stays for a retry.
        q = new Queue(name, { connection, defaultJobOptions: { removeOnComplete: 1000, removeOnFail: false } });
        q.on('error', (err) => console.error(`[queue] ${name}: ${err.message}`));
        trainers.set(name, q);
      }
      return q;
    },
    async close() {
      await Promise.all([events.close(), notifications.close(), ...[...trainers.values()].map((q) => q.close())]);
    },
  };
}
