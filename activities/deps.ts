/** What every activity is built with; injected so tests can pass real clients for a test database. */
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import type { PrismaClient } from '../infra/prisma.js';
import type { Queues } from '../infra/queues.js';
import type { SourceAccess } from '../infra/source-fetch.js';

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
}

export interface CycleRef {
  experimentKey: string;
  cycle: number;
}
