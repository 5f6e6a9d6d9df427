/** BullMQ queues: "events" carries exposures and outcome events to Postgres, "notifications" webhooks. */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

export const EVENTS_QUEUE = 'expflow-events';
export const NOTIFICATIONS_QUEUE = 'expflow-notifications';

export interface OutcomeEvent {
  eventId: string;
  experiment: string;
  unitId: string;
  name: string;
  value: number;
  timestamp: string;
  context: Record<string, unknown>;
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
  url: string;
  body: Record<string, unknown>;
}

export interface Queues {
  events: Queue<EventsJob>;
  notifications: Queue<NotificationJob>;
  close(): Promise<void>;
}

export function createQueues(connection: Redis): Queues {
  const events = new Queue<EventsJob>(EVENTS_QUEUE, {
    connection,
    // Failed jobs stay in Redis (removeOnFail: false) so nothing is lost and they can be retried.
    defaultJobOptions: { attempts: 8, backoff: { type: 'exponential', delay: 500 }, removeOnComplete: 1000, removeOnFail: false },
  });
  const notifications = new Queue<NotificationJob>(NOTIFICATIONS_QUEUE, {
    connection,
    defaultJobOptions: { attempts: 6, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: 1000, removeOnFail: false },
  });
  for (const q of [events, notifications]) q.on('error', (err) => console.error(`[queue] ${q.name}: ${err.message}`));
  return {
    events,
    notifications,
    async close() {
      await Promise.all([events.close(), notifications.close()]);
    },
  };
}
