/**
 * Starting a registry comparison: the waiting candidates of an entity × model type (registered by
 * hand or by a retraining run, in order) all enter one N-way experiment against the champion. One
 * comparison at a time: a candidate registered while one runs waits and joins the next, which the
 * end of the running one starts (activities/phase.ts). Shared by the API and the activities.
 */
import { experimentConfigSchema, type ExperimentConfig } from '../domain/experiment/config.js';
import { buildComparison, comparisonKey, type ComparisonAttempt, type NextComparison } from '../domain/models/comparison.js';
import { lockRegistry } from '../infra/model-registry.js';
import type { PrismaClient } from '../infra/prisma.js';
import { ApiError } from './errors.js';
import type { ExperimentsService } from './experiments-service.js';

/** At most this many challengers per comparison (the rest wait for the next one). */
const MAX_CHALLENGERS = 7;

export class ModelComparisons {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly experiments: ExperimentsService,
  ) {}

  /**
   * Starts the next comparison if none runs and candidates wait. Without `config`, the last
   * comparison's setup is reused; a 400 names `comparison.config` when there is none. On failure
   * the claimed candidates wait again.
   */
  async startNext(
    entity: string,
    modelType: string,
    actor: string,
    opts: { config?: ExperimentConfig; owner?: string; challengerShare?: number } = {},
  ): Promise<NextComparison> {
    const claimed = await this.prisma.$transaction(async (tx) => {
      await lockRegistry(tx, entity, modelType);
      const running = await tx.modelVersion.findFirst({ where: { entity, modelType, status: 'candidate', experimentKey: { not: null } } });
      if (running?.experimentKey) return { state: 'running' as const, experimentKey: running.experimentKey };
      const champion = await tx.modelVersion.findFirst({ where: { entity, modelType, status: 'champion' } });
      const waiting = await tx.modelVersion.findMany({ where: { entity, modelType, status: 'candidate', experimentKey: null }, orderBy: { createdAt: 'asc' }, take: MAX_CHALLENGERS });
      if (!champion || waiting.length === 0) return { state: 'none' as const };
      const experimentKey = comparisonKey(entity, modelType, waiting.map((w) => w.version).join('+'));
      await tx.modelVersion.updateMany({ where: { id: { in: waiting.map((w) => w.id) } }, data: { experimentKey } });
      return { state: 'claimed' as const, experimentKey, champion, waiting };
    });
    if (claimed.state !== 'claimed') return claimed;
    const { experimentKey, champion, waiting } = claimed;
    const release = () =>
      this.prisma.modelVersion
        .updateMany({ where: { id: { in: waiting.map((w) => w.id) }, experimentKey }, data: { experimentKey: null } })
        .catch((err: Error) => console.error('[models] could not release claimed candidates', err.message));
    try {
      const config = opts.config ?? (await this.previousComparisonConfig(entity, modelType, experimentKey));
      if (!config) throw new ApiError(400, 'invalid_request', `comparison.config: required for the first comparison of ${entity}/${modelType}`);
      const experiment = await this.experiments.create(
        buildComparison({
          entity,
          modelType,
          champion: { id: champion.id, version: champion.version, uri: champion.uri },
          challengers: waiting.map((w) => ({ id: w.id, version: w.version, uri: w.uri })),
          config,
          owner: opts.owner ?? 'model-registry',
          challengerShare: opts.challengerShare,
        }),
        actor,
      );
      return { state: 'started', experimentKey, versions: waiting.map((w) => w.version), experiment };
    } catch (e) {
      await release();
      throw e;
    }
  }

  /**
   * startNext for the training platform's activities (activities/deps.ts ComparisonStarter): a
   * refusal only a new configuration can fix (a 4xx) is answered, not thrown, so it is not retried.
   */
  async tryStartNext(entity: string, modelType: string, actor: string, opts: { config?: ExperimentConfig; owner?: string } = {}): Promise<ComparisonAttempt> {
    try {
      return await this.startNext(entity, modelType, actor, opts);
    } catch (e) {
      if (!(e instanceof ApiError) || e.status >= 500) throw e;
      return { state: 'refused', reason: e.message };
    }
  }

  /** Retraining schedulers usually send only the new version: reuse the last comparison's setup. */
  private async previousComparisonConfig(entity: string, modelType: string, excludeKey: string): Promise<ExperimentConfig | null> {
    const last = await this.prisma.modelVersion.findFirst({
      where: { entity, modelType, experimentKey: { not: null }, NOT: { experimentKey: excludeKey } },
      orderBy: { createdAt: 'desc' },
    });
    if (!last?.experimentKey) return null;
    const exp = await this.prisma.experiment.findUnique({ where: { key: last.experimentKey } });
    const parsed = exp ? experimentConfigSchema.safeParse(exp.config) : null;
    return parsed?.success ? parsed.data : null;
  }
}
