/** What every activity is built with; injected so tests can pass real clients for a test database. */
import type { Client } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import type { PrismaClient } from '../infra/prisma.js';
import type { Queues } from '../infra/queues.js';
import type { SourceAccess } from '../infra/source-fetch.js';
import type { ExperimentConfig } from '../domain/experiment/config.js';
import type { ComparisonAttempt } from '../domain/models/comparison.js';

/** Starts registry comparisons (api/model-comparisons.ts implements it: a comparison is an experiment the API creates). */
export interface ComparisonStarter {
  /** Starts the entity × model type's next comparison unless one runs; a refusal only a new configuration fixes is answered, not thrown. */
  tryStartNext(entity: string, modelType: string, actor: string, opts?: { config?: ExperimentConfig; owner?: string }): Promise<ComparisonAttempt>;
}

export interface ActivityDeps {
  prisma: PrismaClient;
  pool: Pool;
  redis: Redis;
  queues: Queues;
  now?: () => Date;
  /** Where evaluation datasets are written (default .data/datasets). */
  evaluationDataDir?: string;
  /** What pull sources may fetch (default: public hosts only, infra/source-fetch.ts). */
  contextSources?: SourceAccess;
  /** HMAC key that signs requests to webhook trainers (as notification webhooks are signed). */
  webhookSecret?: string;
  /** The training platform: starts comparisons and signals retraining runs (absent in activity-only tests). */
  training?: { temporal: Client; comparisons: ComparisonStarter };
}

export interface CycleRef {
  experimentKey: string;
  cycle: number;
}
