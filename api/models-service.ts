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
import type { RegisterModelInput } from './schemas.js';

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
      const config = input.comparison?.config ?? (await this.previousComparisonConfig(entity, modelType, model.id));
      if (!config) throw new ApiError(400, 'invalid_request', `comparison.config: required for the first comparison of ${entity}/${modelType}`);
      const experiment = await this.experiments.create(
        buildComparison({
          entity,
          modelType,
          champion: { id: champion.id, version: champion.version, uri: champion.uri },
          challenger: { id: model.id, version, uri: input.uri },
          config,
          owner: input.owner,
          challengerShare: input.comparison?.challengerShare,
        }),
        actor,
      );
      return { model, experiment };
    } catch (e) {
      await this.prisma.modelVersion.delete({ where: { id: model.id } }).catch((err: Error) => console.error('[api] could not undo model registration', err.message));
      throw e;
    }
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
