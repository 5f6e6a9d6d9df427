/** What every activity is built with; injected so tests can pass real clients for a test database. */
import type { Client } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import type { PrismaClient } from '../infra/prisma.js';
import type { Queues } from '../infra/queues.js';
import type { ModelComparisons } from '../api/model-comparisons.js';

export interface ActivityDeps {
  prisma: PrismaClient;
  pool: Pool;
  redis: Redis;
  queues: Queues;
  now?: () => Date;
  /** Where evaluation datasets are written (default .data/datasets). */
  evaluationDataDir?: string;
  /** HMAC key that signs requests to webhook trainers (as notification webhooks are signed). */
  webhookSecret?: string;
  /** The training platform: starts comparisons and signals retraining runs (absent in activity-only tests). */
  training?: { temporal: Client; comparisons: ModelComparisons };
}

export interface CycleRef {
  experimentKey: string;
  cycle: number;
}
