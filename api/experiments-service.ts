/**
 * Control-plane operations behind the routes: create (row + first snapshot + workflow, all or
 * nothing), read, signal and update. Route handlers only parse and format.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, isGrpcDeadlineError, type Client } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type { CreateExperimentInput } from '../domain/experiment/config.js';
import { DEFAULT_HASH_VERSION, buildSnapshot, initialSegments, type ExperimentDefinition } from '../domain/experiment/snapshot.js';
import type { AllocationSnapshot } from '../domain/types.js';
import type { PrismaClient } from '../infra/prisma.js';
import { deleteSnapshot } from '../infra/snapshot-store.js';
import { saveSnapshot } from '../infra/snapshot-writer.js';
import { SA } from '../workflows/search-attributes.js';
import type { ExperimentStatus } from '../domain/experiment/messages.js';
import { experimentWorkflow } from '../workflows/experiment.js';
import {
  acknowledgeSrmUpdate,
  concludeUpdate,
  reenableArmUpdate,
  externalContextSignal,
  overrideAllocationUpdate,
  pauseSignal,
  resumeSignal,
  runCycleNowUpdate,
  statusQuery,
  stopSignal,
} from '../workflows/experiment-messages.js';
import { assertSafeRegexes } from './regex-safety.js';
import { ApiError, grpcCode } from './errors.js';
import { requireRedis } from './redis-guard.js';
import { describeStuckWorkflow, steeringTimeoutError } from './steering-timeout.js';

/** How long GET /experiments/:key waits for the workflow's status query. */
const LIVE_STATUS_TIMEOUT_MS = 3_000;

const workflowIdFor = (key: string) => `experiment-${key}`;

/** Variants in a stable order in every answer: the control first, then by key (ids are random). */
const VARIANT_ORDER = { orderBy: [{ isControl: 'desc' as const }, { key: 'asc' as const }] };

export interface ServiceDeps {
  prisma: PrismaClient;
  redis: Redis;
  temporal: Client;
  taskQueue: string;
  /** Set when analytics steps run on their own worker pool. */
  analyticsTaskQueue?: string;
  onSnapshot?: (s: AllocationSnapshot) => void;
  /** How long a steering update waits for a worker before answering 503 (default 120 s). */
  steeringTimeoutMs?: number;
}

export class ExperimentsService {
  constructor(private readonly d: ServiceDeps) {}

  async create(input: CreateExperimentInput, actor: string) {
    const { prisma, redis, temporal } = this.d;
    await assertSafeRegexes(input.config.targeting, 'config.targeting');
    // The first snapshot goes to Redis: refuse before any row is written.
    requireRedis(redis, 'experiment');
    if (await prisma.experiment.findUnique({ where: { key: input.key }, select: { id: true } })) {
      throw new ApiError(409, 'already_exists', `key: experiment '${input.key}' already exists`);
    }
    let created;
    let auditId: bigint;
    try {
      [created, auditId] = await prisma.$transaction(async (tx) => {
        const row = await tx.experiment.create({
          data: {
            key: input.key,
            name: input.name,
            description: input.description,
            hypothesis: input.hypothesis,
            kind: input.kind,
            owner: input.owner,
            status: 'running',
            config: { ...input.config, hashVersion: DEFAULT_HASH_VERSION } as object,
            variants: {
              create: input.variants.map((v) => ({ key: v.key, name: v.name ?? v.key, payload: v.payload as object, initialWeight: v.weight, isControl: v.control })),
            },
          },
          include: { variants: VARIANT_ORDER },
        });
        // The audit entry is written with the row, so a failure later never leaves one without the other.
        const audit = await tx.auditLog.create({ data: { actor, action: 'experiment.create', target: input.key, reason: input.hypothesis } });
        return [row, audit.id] as const;
      });
    } catch (e) {
      if ((e as { code?: string }).code === 'P2002') throw new ApiError(409, 'already_exists', `key: experiment '${input.key}' already exists`);
      throw e;
    }
    try {
      const def: ExperimentDefinition = {
        key: input.key,
        seed: created.id,
        hashVersion: DEFAULT_HASH_VERSION,
        variants: input.variants.map((v) => ({ key: v.key, isControl: v.control, weight: v.weight, payload: v.payload })),
        config: input.config,
      };
      const now = new Date().toISOString();
      const snapshot = await saveSnapshot(
        prisma,
        redis,
        created.id,
        { cycle: 0, step: 'initial' },
        (version) => buildSnapshot(def, { version, cycle: 0, phase: 'running', segments: initialSegments(def), segmentFeatures: [], reason: 'initial allocation', now }),
        { replace: true },
      );
      this.d.onSnapshot?.(snapshot);
      await temporal.workflow.start(experimentWorkflow, {
        workflowId: workflowIdFor(input.key),
        taskQueue: this.d.taskQueue,
        args: [
          {
            experimentKey: input.key,
            kind: input.kind,
            variants: input.variants.map((v) => v.key),
            cycleIntervalMs: Math.round(input.config.cycleIntervalSeconds * 1000),
            maxCycles: input.config.maxCycles,
            continueAsNewEvery: input.config.continueAsNewEvery,
            dampeningHalfLifeMs: input.config.policy.kind === 'contextual' ? input.config.policy.dampeningHalfLifeSeconds * 1000 : undefined,
            analyticsTaskQueue: this.d.analyticsTaskQueue,
          },
        ],
        typedSearchAttributes: [
          { key: SA.key, value: input.key },
          { key: SA.status, value: 'running' },
          { key: SA.kind, value: input.kind },
          { key: SA.decisionOutcome, value: 'none' },
          ...(input.config.entity ? [{ key: SA.entity, value: input.config.entity }] : []),
        ],
        memo: { name: input.name, owner: input.owner },
      });
    } catch (e) {
      // All or nothing: no row, audit entry, snapshot or workflow survives a failed start.
      const alreadyStarted = e instanceof WorkflowExecutionAlreadyStartedError;
      await this.rollbackCreate(input.key, created.id, auditId, { terminateWorkflow: !alreadyStarted });
      if (alreadyStarted) {
        throw new ApiError(409, 'already_exists', `key: a workflow for experiment '${input.key}' already exists`);
      }
      throw new ApiError(503, 'workflow_unavailable', `could not start the experiment workflow: ${(e as Error).message}`);
    }
    return this.get(input.key);
  }

  /**
   * Undoes a create. A start that failed ambiguously (a timeout after the server accepted it) may
   * have left a workflow running, so it is terminated too, unless the workflow id belonged to
   * someone else already. Rollback failures are reported, not swallowed.
   */
  private async rollbackCreate(key: string, experimentId: string, auditId: bigint, opts: { terminateWorkflow: boolean }) {
    const steps: Array<[string, () => Promise<unknown>]> = [
      ['experiment row', () => this.d.prisma.experiment.delete({ where: { id: experimentId } })],
      ['audit entry', () => this.d.prisma.auditLog.delete({ where: { id: auditId } })],
      ['snapshot', () => deleteSnapshot(this.d.redis, key)],
    ];
    if (opts.terminateWorkflow) {
      steps.push(['workflow', () => this.handle(key).terminate('experiment creation rolled back').catch((e: Error) => {
        if (e.name !== 'WorkflowNotFoundError') throw e;
      })]);
    }
    for (const [what, undo] of steps) {
      try {
        await undo();
      } catch (err) {
        console.error(`[api] rollback of '${key}' could not remove the ${what}:`, (err as Error).message);
      }
    }
  }

  async list(filter: { status?: string; limit: number }) {
    return this.d.prisma.experiment.findMany({
      where: filter.status ? { status: filter.status as never } : {},
      orderBy: { createdAt: 'desc' },
      take: filter.limit,
      include: { variants: VARIANT_ORDER },
    });
  }

  async get(key: string) {
    const row = await this.d.prisma.experiment.findUnique({ where: { key }, include: { variants: VARIANT_ORDER } });
    if (!row) throw notFound(key);
    let live: ExperimentStatus | null = null;
    let liveError: string | null = null;
    try {
      // Bounded: with no worker polling, a query would wait for one (tens of seconds); the row
      // is still worth returning, with the reason the live status is missing.
      const deadline = Date.now() + LIVE_STATUS_TIMEOUT_MS;
      live = await this.d.temporal.connection.withDeadline(deadline, () => this.handle(key).query(statusQuery)).catch((e: Error) => {
        if (Date.now() >= deadline) throw new Error(`the workflow did not answer its status query within ${LIVE_STATUS_TIMEOUT_MS / 1000} s (is a worker polling its task queue?)`);
        throw e;
      });
    } catch (e) {
      liveError = (e as Error).message;
    }
    return { ...row, workflowId: workflowIdFor(key), live, liveError };
  }

  async decisions(key: string) {
    const row = await this.d.prisma.experiment.findUnique({ where: { key }, select: { id: true } });
    if (!row) throw notFound(key);
    return this.d.prisma.decision.findMany({ where: { experimentId: row.id }, orderBy: { cycle: 'asc' } });
  }

  async signal(key: string, which: 'pause' | 'resume' | 'stop', body: { actor?: string; reason?: string }) {
    await this.requireRunning(key);
    const sig = which === 'pause' ? pauseSignal : which === 'resume' ? resumeSignal : stopSignal;
    await this.send(() => this.handle(key).signal(sig, body));
    return { signalled: which };
  }

  /** The manual override of reaction rules: dampens with the experiment's own half-life. */
  async externalContext(key: string, body: { kind: string; severity: number }, actor = 'api') {
    await this.requireRunning(key);
    await this.send(() => this.handle(key).signal(externalContextSignal, body));
    await this.d.prisma.auditLog.create({ data: { actor, action: 'experiment.dampen', target: key, reason: `manual external context: ${body.kind}`, data: { ...body, source: 'manual' } } });
    return { signalled: 'externalContext' };
  }

  async overrideAllocation(key: string, body: { weights?: Record<string, number>; clear?: boolean; actor?: string; reason?: string }) {
    await this.requireExists(key);
    return this.update(key, () => this.handle(key).executeUpdate(overrideAllocationUpdate, { args: [body] }));
  }

  async runCycleNow(key: string, body: { actor?: string; reason?: string }) {
    await this.requireExists(key);
    return this.update(key, () => this.handle(key).executeUpdate(runCycleNowUpdate, { args: [body] }));
  }

  async conclude(key: string, body: { winner?: string; actor?: string; reason?: string }) {
    await this.requireExists(key);
    return this.update(key, () => this.handle(key).executeUpdate(concludeUpdate, { args: [body] }));
  }

  async reenableArm(key: string, body: { arm: string; actor: string; reason: string }) {
    await this.requireExists(key);
    return this.update(key, () => this.handle(key).executeUpdate(reenableArmUpdate, { args: [body] }));
  }

  async acknowledgeSrm(key: string, body: { actor: string; reason: string }) {
    await this.requireExists(key);
    return this.update(key, () => this.handle(key).executeUpdate(acknowledgeSrmUpdate, { args: [body] }));
  }

  private handle(key: string) {
    return this.d.temporal.workflow.getHandle(workflowIdFor(key));
  }

  private async requireExists(key: string) {
    const row = await this.d.prisma.experiment.findUnique({ where: { key }, select: { id: true, status: true } });
    if (!row) throw notFound(key);
    return row;
  }

  /** Signals to a finished experiment would be accepted by nobody: refuse them with a reason. */
  private async requireRunning(key: string) {
    const row = await this.requireExists(key);
    if (row.status === 'stopped' || row.status === 'concluded') throw new ApiError(409, 'not_running', `key: experiment '${key}' is ${row.status}`);
  }

  private async send(fn: () => Promise<void>) {
    try {
      await fn();
    } catch (e) {
      if ((e as Error).name === 'WorkflowNotFoundError') throw new ApiError(409, 'not_running', 'experiment workflow is not running');
      throw e;
    }
  }

  /**
   * Runs a workflow update; a validator's rejection becomes a 409 with its reason. Bounded: with no
   * worker polling, an update would wait for one forever, and past the server's limit of updates in
   * flight per workflow Temporal refuses more (RESOURCE_EXHAUSTED); both are the caller's 503/429.
   * A timeout says which it was: no worker (503) or a workflow still at work on it (504).
   */
  private async update<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const timeoutMs = this.d.steeringTimeoutMs ?? DEFAULT_STEERING_TIMEOUT_MS;
    try {
      return await this.d.temporal.connection.withDeadline(Date.now() + timeoutMs, fn);
    } catch (e) {
      if (e instanceof WorkflowUpdateFailedError) {
        const reason = (e.cause as Error | undefined)?.message ?? e.message;
        throw new ApiError(409, 'rejected', reason);
      }
      if ((e as Error).name === 'WorkflowNotFoundError') throw new ApiError(409, 'not_running', 'experiment workflow is not running');
      if (e instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(e)) {
        throw steeringTimeoutError(timeoutMs, await describeStuckWorkflow(this.d.temporal, workflowIdFor(key)));
      }
      if (grpcCode(e) === GRPC_RESOURCE_EXHAUSTED) {
        throw new ApiError(429, 'too_many_updates', 'too many steering requests are waiting on this experiment; retry later', null, { 'retry-after': '5' });
      }
      throw e;
    }
  }
}

const DEFAULT_STEERING_TIMEOUT_MS = 120_000;
const GRPC_RESOURCE_EXHAUSTED = 8;

function notFound(key: string): ApiError {
  return new ApiError(404, 'not_found', `key: experiment '${key}' does not exist`);
}
