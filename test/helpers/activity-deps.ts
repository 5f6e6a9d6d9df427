/** The activities built on real clients for the test database and Redis, closed after the file. */
import { afterAll, beforeAll } from 'vitest';
import { createActivities, type Activities } from '../../activities/index.js';
import { createPool } from '../../infra/pg.js';
import { createPrisma } from '../../infra/prisma.js';
import { createQueues, type Queues } from '../../infra/queues.js';
import { createRedis } from '../../infra/redis.js';
import { testConfig } from './services.js';

export function useActivities() {
  const config = testConfig();
  const deps = {
    config,
    prisma: createPrisma(config.databaseUrl),
    pool: createPool(config.databaseUrl),
    redis: createRedis(config.redisUrl),
    bull: createRedis(config.redisUrl, { forBullmq: true }),
    queues: undefined as unknown as Queues,
    acts: undefined as unknown as Activities,
  };
  beforeAll(() => {
    deps.queues = createQueues(deps.bull, { eventsQueue: config.events.queue, notificationsQueue: config.notificationsQueue });
    deps.acts = createActivities({ prisma: deps.prisma, pool: deps.pool, redis: deps.redis, queues: deps.queues });
  });
  afterAll(async () => {
    await deps.queues.close();
    await deps.prisma.$disconnect();
    await deps.pool.end();
    deps.redis.disconnect();
    deps.bull.disconnect();
  });
  return deps;
}
