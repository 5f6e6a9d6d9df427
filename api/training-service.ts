/**
 * Training policies behind the routes: the row and its Temporal Schedule change together (a
 * schedule Temporal refuses leaves no row, a deleted policy leaves no schedule), the schedule is
 * paused, resumed or triggered from here, and an entity's models are listed with when each was
 * last trained and when it is next due.
 */
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { frequencySchema, trainerSchema, trainingScheduleId, trainingSpecSchema, type TrainingPolicyInput } from '../domain/training/policy.js';
import type { PrismaClient } from '../infra/prisma.js';
import { deleteTrainingSchedule, describeTrainingSchedule, upsertTrainingSchedule } from '../infra/training-schedules.js';
import { ApiError } from './errors.js';

type PolicyRow = Awaited<ReturnType<PrismaClient['trainingPolicy']['findUniqueOrThrow']>>;

/** gRPC INVALID_ARGUMENT: Temporal refused the spec (e.g. a cron expression it cannot parse). */
const INVALID_ARGUMENT = 3;

export class TrainingService {
  constructor(private readonly d: { prisma: PrismaClient; temporal: Client; taskQueue: string }) {}

  async put(entity: string, modelType: string, input: TrainingPolicyInput, actor: string) {
    const { prisma, temporal, taskQueue } = this.d;
    const scheduleId = trainingScheduleId(entity, modelType);
    const spec = { dataset: input.dataset, candidates: input.candidates, comparison: input.comparison, waitForVersionsSeconds: input.waitForVersionsSeconds, owner: input.owner };
    let created = false;
    try {
      const row = await prisma.$transaction(
        async (tx) => {
          await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`training\u001f${entity}\u001f${modelType}`}))`;
          const data = { frequency: input.frequency, trainer: input.trainer, spec: JSON.parse(JSON.stringify(spec)) as object };
          const saved = await tx.trainingPolicy.upsert({
            where: { entity_modelType: { entity, modelType } },
            create: { entity, modelType, scheduleId, createdBy: actor, ...data },
            update: data,
          });
          try {
            created = (await upsertTrainingSchedule(temporal, { scheduleId, taskQueue, frequency: input.frequency, input: { entity, modelType } })) === 'created';
          } catch (e) {
            throw scheduleError(e, input.frequency.cron !== undefined);
          }
          await tx.auditLog.create({ data: { actor, action: 'training.policy_set', target: `${entity}/${modelType}`, reason: `schedule ${scheduleId}: ${input.frequency.every ? `every ${input.frequency.every}` : `cron ${input.frequency.cron}`}` } });
          return saved;
        },
        { timeout: 20_000 },
      );
      return this.view(row);
    } catch (e) {
      // The schedule exists but the row did not commit: remove what this call created.
      if (created) await deleteTrainingSchedule(temporal, scheduleId).catch((err: Error) => console.error(`[training] could not undo schedule ${scheduleId}: ${err.message}`));
      throw e;
    }
  }

  async get(entity: string, modelType: string) {
    return this.view(await this.require(entity, modelType));
  }

  async list(entity?: string) {
    const rows = await this.d.prisma.trainingPolicy.findMany({ where: entity ? { entity } : {}, orderBy: [{ entity: 'asc' }, { modelType: 'asc' }], take: 500 });
    return Promise.all(rows.map((r) => this.view(r)));
  }

  async remove(entity: string, modelType: string, actor: string) {
    const row = await this.require(entity, modelType);
    await this.d.prisma.$transaction(async (tx) => {
      await tx.trainingPolicy.delete({ where: { id: row.id } });
      await tx.auditLog.create({ data: { actor, action: 'training.policy_deleted', target: `${entity}/${modelType}`, reason: `schedule ${row.scheduleId} deleted` } });
      await deleteTrainingSchedule(this.d.temporal, row.scheduleId).catch((e: Error) => {
        throw new ApiError(503, 'workflow_unavailable', `could not delete schedule ${row.scheduleId}: ${e.message}`);
      });
    });
    return { deleted: true, scheduleId: row.scheduleId };
  }

  /** Pause, resume or trigger the policy's schedule (audited). */
  async scheduleAction(entity: string, modelType: string, action: 'pause' | 'resume' | 'trigger', actor: string, reason?: string) {
    const row = await this.require(entity, modelType);
    const handle = this.d.temporal.schedule.getHandle(row.scheduleId);
    const note = `${action} by ${actor}${reason ? `: ${reason}` : ''}`;
    try {
      if (action === 'pause') await handle.pause(note);
      else if (action === 'resume') await handle.unpause(note);
      else await handle.trigger();
    } catch (e) {
      if (e instanceof ScheduleNotFoundError) throw new ApiError(409, 'schedule_missing', `scheduleId: ${row.scheduleId} is not in Temporal; PUT the policy again to recreate it`);
      throw new ApiError(503, 'workflow_unavailable', `could not ${action} schedule ${row.scheduleId}: ${(e as Error).message}`);
    }
    await this.d.prisma.auditLog.create({ data: { actor, action: `training.schedule_${action}`, target: `${entity}/${modelType}`, reason: reason ?? `schedule ${row.scheduleId}` } });
    return this.view(row);
  }

  /** Per model type of the entity: its versions, when it was last trained and when it is next due. */
  async overview(entity: string) {
    const { prisma } = this.d;
    const [policies, versions] = await Promise.all([
      prisma.trainingPolicy.findMany({ where: { entity } }),
      prisma.modelVersion.findMany({ where: { entity }, orderBy: { createdAt: 'desc' }, take: 1000 }),
    ]);
    const types = [...new Set([...policies.map((p) => p.modelType), ...versions.map((v) => v.modelType)])].sort();
    const models = await Promise.all(
      types.map(async (modelType) => {
        const mine = versions.filter((v) => v.modelType === modelType);
        const trained = mine.filter((v) => v.status !== 'shadow').map((v) => (v.trainedAt ?? v.createdAt).getTime());
        const policy = policies.find((p) => p.modelType === modelType);
        const view = policy ? await this.view(policy) : null;
        return {
          modelType,
          champion: mine.find((v) => v.status === 'champion')?.version ?? null,
          lastTrainedAt: trained.length ? new Date(Math.max(...trained)).toISOString() : null,
          nextDueAt: view?.schedule?.nextDue ?? null,
          frequency: view?.frequency ?? null,
          paused: view?.schedule?.paused ?? null,
          versions: mine.slice(0, 50).map((v) => ({
            version: v.version,
            status: v.status,
            uri: v.uri,
            trainedAt: v.trainedAt?.toISOString() ?? null,
            datasetId: v.datasetId,
            datasetFingerprint: v.datasetFingerprint,
            params: v.params,
            metrics: v.metrics,
            comparison: v.experimentKey,
            settledBy: v.settledBy,
            trainingRunId: v.trainingRunId,
          })),
        };
      }),
    );
    return { entity, models };
  }

  async runs(entity: string, limit: number) {
    return this.d.prisma.trainingRun.findMany({ where: { entity }, orderBy: { startedAt: 'desc' }, take: limit });
  }

  private async require(entity: string, modelType: string): Promise<PolicyRow> {
    const row = await this.d.prisma.trainingPolicy.findUnique({ where: { entity_modelType: { entity, modelType } } });
    if (!row) throw new ApiError(404, 'not_found', `modelType: no training policy for ${entity}/${modelType}`);
    return row;
  }

  private async view(row: PolicyRow) {
    let schedule = null;
    try {
      schedule = await describeTrainingSchedule(this.d.temporal, row.scheduleId);
    } catch (e) {
      console.error(`[training] could not describe schedule ${row.scheduleId}: ${(e as Error).message}`);
    }
    return {
      entity: row.entity,
      modelType: row.modelType,
      scheduleId: row.scheduleId,
      frequency: frequencySchema.parse(row.frequency),
      trainer: trainerSchema.parse(row.trainer),
      ...trainingSpecSchema.parse(row.spec),
      createdBy: row.createdBy,
      updatedAt: row.updatedAt.toISOString(),
      schedule,
    };
  }
}

function scheduleError(e: unknown, cron: boolean): ApiError {
  if (e instanceof ApiError) return e;
  const err = e as { code?: number; message?: string };
  // The SDK throws a TypeError for a spec it cannot encode ("Minute is not in range [0-59]").
  if (e instanceof TypeError || err.code === INVALID_ARGUMENT) {
    return new ApiError(400, 'invalid_request', `frequency${cron ? '.cron' : '.every'}: Temporal refused the schedule: ${err.message ?? 'invalid'}`);
  }
  return new ApiError(503, 'workflow_unavailable', `could not write the Temporal Schedule: ${err.message ?? String(e)}`);
}
