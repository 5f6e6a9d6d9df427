/**
 * Model registry: a retraining scheduler registers a version; the first becomes champion, each later
 * one starts a champion-vs-challenger experiment (kind model_comparison) whose conclusion promotes
 * or rejects it (activities/phase.ts applies that).
 */
import { experimentConfigSchema, type ExperimentConfig } from '../domain/experiment/config.js';
import { buildComparison, comparisonKey } from '../domain/models/comparison.js';
import type { PrismaClient } from '../infra/prisma.js';
import { ApiError } from './errors.js';
import type { ExperimentsService } from './experiments-service.js';
import { counterfactualReward, scoreBinary } from '../domain/models/shadow-scores.js';
import type { PredictionsInput, PromoteModelInput, RegisterModelInput, ShadowScoresQuery } from './schemas.js';

export class ModelsService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly experiments: ExperimentsService,
  ) {}

  async register(input: RegisterModelInput, actor: string) {
    const { entity, modelType, version } = input;
    // One registration at a time per entity × model type: two concurrent first versions must not
    // both become champion, and two challengers must not both start against the same champion.
    const claimed = await this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`${entity}\u001f${modelType}`}))`;
      const clash = await tx.modelVersion.findUnique({ where: { entity_modelType_version: { entity, modelType, version } } });
      if (clash) throw new ApiError(409, 'already_exists', `version: ${entity}/${modelType} ${version} is already registered`);
      if (input.shadow) {
        const model = await tx.modelVersion.create({ data: { entity, modelType, version, uri: input.uri, metadata: input.metadata as object, status: 'shadow' } });
        await tx.auditLog.create({ data: { actor, action: 'model.shadow', target: `${entity}/${modelType}`, reason: `version ${version} registered in shadow (never served)` } });
        return { model, champion: null };
      }
      const champion = await tx.modelVersion.findFirst({ where: { entity, modelType, status: 'champion' } });
      if (!champion) {
        const model = await tx.modelVersion.create({ data: { entity, modelType, version, uri: input.uri, metadata: input.metadata as object, status: 'champion' } });
        await tx.auditLog.create({ data: { actor, action: 'model.champion', target: `${entity}/${modelType}`, reason: `first version ${version} becomes champion` } });
        return { model, champion: null };
      }
      const running = await tx.modelVersion.findFirst({ where: { entity, modelType, status: 'candidate' } });
      if (running) {
        throw new ApiError(409, 'comparison_running', `version: ${entity}/${modelType} ${running.version} is still being compared with the champion; register again when it ends`);
      }
      const model = await tx.modelVersion.create({
        data: { entity, modelType, version, uri: input.uri, metadata: input.metadata as object, status: 'candidate', experimentKey: comparisonKey(entity, modelType, version) },
      });
      return { model, champion };
    });
    if (!claimed.champion) return { model: claimed.model, experiment: null };

    const { model, champion } = claimed;
    try {
      return { model, experiment: await this.startComparison(model, champion, input, actor) };
    } catch (e) {
      await this.prisma.modelVersion.delete({ where: { id: model.id } }).catch((err: Error) => console.error('[api] could not undo model registration', err.message));
      throw e;
    }
  }

  /** Starts the champion-vs-challenger experiment of a new candidate. */
  private async startComparison(
    model: { id: string; entity: string; modelType: string; version: string; uri: string },
    champion: { id: string; version: string; uri: string },
    input: { owner: string; comparison?: RegisterModelInput['comparison'] },
    actor: string,
  ) {
    const { entity, modelType, version } = model;
    const config = input.comparison?.config ?? (await this.previousComparisonConfig(entity, modelType, model.id));
    if (!config) throw new ApiError(400, 'invalid_request', `comparison.config: required for the first comparison of ${entity}/${modelType}`);
    return this.experiments.create(
      buildComparison({
        entity,
        modelType,
        champion: { id: champion.id, version: champion.version, uri: champion.uri },
        challenger: { id: model.id, version, uri: model.uri },
        config,
        owner: input.owner,
        challengerShare: input.comparison?.challengerShare,
      }),
      actor,
    );
  }

  /** A shadow version becomes a challenger: compared with the champion (or champion if there is none). */
  async promoteShadow(input: PromoteModelInput, actor: string) {
    const { entity, modelType, version } = input;
    const claimed = await this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`${entity}\u001f${modelType}`}))`;
      const row = await tx.modelVersion.findUnique({ where: { entity_modelType_version: { entity, modelType, version } } });
      if (!row) throw new ApiError(404, 'not_found', `version: ${entity}/${modelType} ${version} is not registered`);
      if (row.status !== 'shadow') throw new ApiError(409, 'not_shadow', `version: ${entity}/${modelType} ${version} is ${row.status}, not shadow`);
      const champion = await tx.modelVersion.findFirst({ where: { entity, modelType, status: 'champion' } });
      if (!champion) {
        const model = await tx.modelVersion.update({ where: { id: row.id }, data: { status: 'champion' } });
        await tx.auditLog.create({ data: { actor, action: 'model.champion', target: `${entity}/${modelType}`, reason: `shadow ${version} promoted; no champion, so it becomes champion` } });
        return { model, champion: null };
      }
      const running = await tx.modelVersion.findFirst({ where: { entity, modelType, status: 'candidate' } });
      if (running) throw new ApiError(409, 'comparison_running', `version: ${entity}/${modelType} ${running.version} is still being compared with the champion; promote again when it ends`);
      const model = await tx.modelVersion.update({ where: { id: row.id }, data: { status: 'candidate', experimentKey: comparisonKey(entity, modelType, version) } });
      await tx.auditLog.create({ data: { actor, action: 'model.shadow_promoted', target: `${entity}/${modelType}`, reason: `shadow ${version} promoted to challenger` } });
      return { model, champion };
    });
    if (!claimed.champion) return { model: claimed.model, experiment: null };
    try {
      return { model: claimed.model, experiment: await this.startComparison(claimed.model, claimed.champion, input, actor) };
    } catch (e) {
      await this.prisma.modelVersion.update({ where: { id: claimed.model.id }, data: { status: 'shadow', experimentKey: null } }).catch((err: Error) => console.error('[api] could not undo promotion', err.message));
      throw e;
    }
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

  /** Retraining schedulers usually send only the new version: reuse the last comparison's setup. */
  private async previousComparisonConfig(entity: string, modelType: string, excludeId: string): Promise<ExperimentConfig | null> {
    const last = await this.prisma.modelVersion.findFirst({
      where: { entity, modelType, experimentKey: { not: null }, id: { not: excludeId } },
      orderBy: { createdAt: 'desc' },
    });
    if (!last?.experimentKey) return null;
    const exp = await this.prisma.experiment.findUnique({ where: { key: last.experimentKey } });
    const parsed = exp ? experimentConfigSchema.safeParse(exp.config) : null;
    return parsed?.success ? parsed.data : null;
  }
}
