/**
 * Model registry: a version is registered by hand or by a retraining run (with its training
 * lineage). The first becomes champion; later ones are candidates that enter a champion-vs-
 * challengers experiment (kind model_comparison, api/model-comparisons.ts) whose conclusion
 * promotes one and retires the rest, or rejects them (activities/phase.ts applies that).
 */
import { experimentConfigSchema } from '../domain/experiment/config.js';
import type { PrismaClient } from '../infra/prisma.js';
import type { TrainedVersion } from '../workflows/retraining.js';
import { ApiError } from './errors.js';
import type { ModelComparisons } from './model-comparisons.js';
import type { NextComparison } from '../domain/models/comparison.js';
import { lockRegistry } from '../infra/model-registry.js';
import { counterfactualReward, scoreBinary } from '../domain/models/shadow-scores.js';
import type { PredictionsInput, PromoteModelInput, RegisterModelInput, ShadowScoresQuery } from './schemas.js';

export class ModelsService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly comparisons: ModelComparisons,
    /** Wakes the retraining run that asked for a version (workflows/retraining.ts). */
    private readonly signalTrainingRun: (workflowId: string, arrival: TrainedVersion) => Promise<void>,
  ) {}

  async register(input: RegisterModelInput, actor: string) {
    const { entity, modelType, version } = input;
    const lineage = {
      params: input.params as object,
      metrics: input.metrics as object,
      trainedAt: input.trainedAt ? new Date(input.trainedAt) : null,
      datasetId: input.datasetId ?? null,
      datasetFingerprint: input.datasetFingerprint ?? null,
      trainingRunId: input.training?.runId ?? null,
    };
    // One registration at a time per entity × model type: two concurrent first versions must not
    // both become champion.
    const claimed = await this.prisma.$transaction(async (tx) => {
      await lockRegistry(tx, entity, modelType);
      const clash = await tx.modelVersion.findUnique({ where: { entity_modelType_version: { entity, modelType, version } } });
      if (clash) throw new ApiError(409, 'already_exists', `version: ${entity}/${modelType} ${version} is already registered`);
      const run = input.training ? await tx.trainingRun.findUnique({ where: { id: input.training.runId } }) : null;
      if (input.training && (!run || run.entity !== entity)) throw new ApiError(404, 'not_found', `training.runId: no retraining run ${input.training.runId} for ${entity}`);
      const base = { entity, modelType, version, uri: input.uri, metadata: input.metadata as object, ...lineage };
      if (input.shadow) {
        const model = await tx.modelVersion.create({ data: { ...base, status: 'shadow' } });
        await tx.auditLog.create({ data: { actor, action: 'model.shadow', target: `${entity}/${modelType}`, reason: `version ${version} registered in shadow (never served)` } });
        return { model, first: true, run: null };
      }
      const champion = await tx.modelVersion.findFirst({ where: { entity, modelType, status: 'champion' } });
      if (!champion) {
        const model = await tx.modelVersion.create({ data: { ...base, status: 'champion' } });
        await tx.auditLog.create({ data: { actor, action: 'model.champion', target: `${entity}/${modelType}`, reason: `first version ${version} becomes champion` } });
        return { model, first: true, run };
      }
      // A candidate waits (experimentKey null) until a comparison takes it.
      const model = await tx.modelVersion.create({ data: { ...base, status: 'candidate' } });
      await tx.auditLog.create({ data: { actor, action: 'model.registered', target: `${entity}/${modelType}`, reason: `candidate ${version} registered${run ? ` by retraining run ${run.id}` : ''}` } });
      return { model, first: false, run };
    });
    const { model, run } = claimed;
    if (run && input.training) {
      // The run starts the comparison once its versions are in; a late arrival (run over) is a hand registration.
      await this.signalTrainingRun(run.workflowId, { requestId: input.training.requestId, modelType, version }).catch((e: Error) =>
        console.error(`[models] could not signal retraining run ${run.workflowId}: ${e.message}`),
      );
      if (run.status === 'training' || claimed.first) return { model, experiment: null, waitingFor: run.status === 'training' ? 'retraining run' : null };
    }
    if (claimed.first) return { model, experiment: null };
    let next: NextComparison;
    try {
      next = await this.comparisons.startNext(entity, modelType, actor, { config: input.comparison?.config, owner: input.owner, challengerShare: input.comparison?.challengerShare });
    } catch (e) {
      // A hand registration that cannot start its comparison is not kept (nothing half-written).
      if (!run) await this.prisma.modelVersion.delete({ where: { id: model.id } }).catch((err: Error) => console.error('[api] could not undo model registration', err.message));
      throw e;
    }
    const current = await this.prisma.modelVersion.findUniqueOrThrow({ where: { id: model.id } });
    if (next.state === 'started') return { model: current, experiment: next.experiment };
    // A comparison runs: this version joins the next one, which starts when that one ends.
    return { model: current, experiment: null, queuedBehind: next.state === 'running' ? next.experimentKey : null };
  }

  /** A shadow version becomes a challenger: compared with the champion (or champion if there is none). */
  async promoteShadow(input: PromoteModelInput, actor: string) {
    const { entity, modelType, version } = input;
    const claimed = await this.prisma.$transaction(async (tx) => {
      await lockRegistry(tx, entity, modelType);
      const row = await tx.modelVersion.findUnique({ where: { entity_modelType_version: { entity, modelType, version } } });
      if (!row) throw new ApiError(404, 'not_found', `version: ${entity}/${modelType} ${version} is not registered`);
      if (row.status !== 'shadow') throw new ApiError(409, 'not_shadow', `version: ${entity}/${modelType} ${version} is ${row.status}, not shadow`);
      const champion = await tx.modelVersion.findFirst({ where: { entity, modelType, status: 'champion' } });
      if (!champion) {
        const model = await tx.modelVersion.update({ where: { id: row.id }, data: { status: 'champion' } });
        await tx.auditLog.create({ data: { actor, action: 'model.champion', target: `${entity}/${modelType}`, reason: `shadow ${version} promoted; no champion, so it becomes champion` } });
        return { model, first: true };
      }
      const model = await tx.modelVersion.update({ where: { id: row.id }, data: { status: 'candidate', experimentKey: null } });
      await tx.auditLog.create({ data: { actor, action: 'model.shadow_promoted', target: `${entity}/${modelType}`, reason: `shadow ${version} promoted to challenger` } });
      return { model, first: false };
    });
    if (claimed.first) return { model: claimed.model, experiment: null };
    let next: NextComparison;
    try {
      next = await this.comparisons.startNext(entity, modelType, actor, { config: input.comparison?.config, owner: input.owner, challengerShare: input.comparison?.challengerShare });
    } catch (e) {
      await this.prisma.modelVersion.update({ where: { id: claimed.model.id }, data: { status: 'shadow', experimentKey: null } }).catch((err: Error) => console.error('[api] could not undo promotion', err.message));
      throw e;
    }
    const current = await this.prisma.modelVersion.findUniqueOrThrow({ where: { id: claimed.model.id } });
    if (next.state === 'started') return { model: current, experiment: next.experiment };
    return { model: current, experiment: null, queuedBehind: next.state === 'running' ? next.experimentKey : null };
  }

  /** Logs a version's predictions per unit (idempotent per version × unit). */
  async logPredictions(input: PredictionsInput) {
    const row = await this.requireVersion(input);
    const result = await this.prisma.prediction.createMany({
      data: input.predictions.map((p) => ({ modelVersionId: row.id, unitId: p.unitId, score: p.score ?? null, action: p.action ?? null })),
      skipDuplicates: true,
    });
    return { accepted: result.count, duplicates: input.predictions.length - result.count };
  }

  /** Scores a version's logged predictions against the outcomes of the units the experiment served. */
  async shadowScores(q: ShadowScoresQuery) {
    const row = await this.requireVersion(q);
    const exp = await this.prisma.experiment.findUnique({ where: { key: q.experiment }, select: { id: true, config: true } });
    if (!exp) throw new ApiError(404, 'not_found', `experiment: '${q.experiment}' does not exist`);
    // Events belong to units: one counts for the experiment when it names no experiment (and was not
    // counted there already as a restricted copy, infra/ingest.ts eventCountsFor) or this one, and falls in the unit's attribution window (lookback before exposure, windowHours after).
    const attribution = experimentConfigSchema.safeParse(exp.config).data?.attribution ?? { lookbackSeconds: 600 };
    const windowSeconds = attribution.windowHours === undefined ? null : attribution.windowHours * 3600;
    const rows = await this.prisma.$queryRaw<Array<{ score: number | null; action: string | null; variant: string; propensity: number; events: number; reward: number }>>`
      SELECT p.score, p.action, a.variant, a.propensity,
             count(e."eventId")::int AS events, COALESCE(sum(e.value), 0)::float8 AS reward
      FROM "Prediction" p
      JOIN "Assignment" a ON a."experimentId" = ${exp.id}::uuid AND a."unitId" = p."unitId"
      LEFT JOIN "Event" e ON e."unitId" = a."unitId" AND e.name = ${q.event}
        AND (e."experimentId" = a."experimentId" OR (e."experimentId" IS NULL AND (e."excludedExperiments" IS NULL OR NOT a."experimentId" = ANY(e."excludedExperiments"))))
        AND e.timestamp >= a."assignedAt" - make_interval(secs => ${attribution.lookbackSeconds})
        AND (${windowSeconds}::float8 IS NULL OR e.timestamp <= a."assignedAt" + make_interval(secs => ${windowSeconds}::float8))
      WHERE p."modelVersionId" = ${row.id}::uuid
      GROUP BY p.id, a.variant, a.propensity`;
    const base = { model: { entity: row.entity, modelType: row.modelType, version: row.version, status: row.status }, experiment: q.experiment, event: q.event, servedUnits: rows.length };
    if (q.kind === 'binary') {
      const scored = rows.filter((r) => r.score !== null).map((r) => ({ score: r.score as number, outcome: (r.events > 0 ? 1 : 0) as 0 | 1 }));
      return { ...base, kind: q.kind, scores: scoreBinary(scored, q.bins) };
    }
    const acted = rows.filter((r) => r.action !== null).map((r) => ({ shadowAction: r.action as string, loggedAction: r.variant, propensity: r.propensity, reward: r.reward }));
    return { ...base, kind: q.kind, scores: counterfactualReward(acted) };
  }

  private async requireVersion(ref: { entity: string; modelType: string; version: string }) {
    const row = await this.prisma.modelVersion.findUnique({ where: { entity_modelType_version: { entity: ref.entity, modelType: ref.modelType, version: ref.version } } });
    if (!row) throw new ApiError(404, 'not_found', `version: ${ref.entity}/${ref.modelType} ${ref.version} is not registered`);
    return row;
  }

  async list(filter: { entity?: string; modelType?: string }) {
    return this.prisma.modelVersion.findMany({ where: filter, orderBy: { createdAt: 'desc' }, take: 500 });
  }
}
