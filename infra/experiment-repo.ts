/** Loads an experiment's definition from Postgres, re-validating the stored config JSON. */
import { experimentConfigSchema, type ExperimentConfig } from '../domain/experiment/config.js';
import type { ExperimentDefinition } from '../domain/experiment/snapshot.js';
import type { ExperimentPhase } from '../domain/types.js';
import { InvalidStoredDataError } from './errors.js';
import type { PrismaClient } from './prisma.js';

export interface LoadedExperiment {
  id: string;
  status: string;
  kind: 'ab' | 'multi_arm' | 'model_comparison';
  /** When the experiment was created (its runtime counts from here). */
  createdAt: Date;
  def: ExperimentDefinition;
}

export async function loadExperiment(prisma: PrismaClient, key: string): Promise<LoadedExperiment> {
  const row = await prisma.experiment.findUnique({ where: { key }, include: { variants: { orderBy: { key: 'asc' } } } });
  if (!row) throw new InvalidStoredDataError(`experiment '${key}' does not exist`);
  const stored = row.config as Record<string, unknown>;
  const parsed = experimentConfigSchema.safeParse(stored);
  if (!parsed.success) {
    throw new InvalidStoredDataError(`experiment '${key}' has an invalid stored config: ${parsed.error.issues[0]?.message}`);
  }
  return {
    id: row.id,
    status: row.status,
    kind: row.kind,
    createdAt: row.createdAt,
    def: {
      key: row.key,
      seed: row.id,
      hashVersion: typeof stored.hashVersion === 'number' ? stored.hashVersion : 1,
      variants: row.variants.map((v) => ({ key: v.key, isControl: v.isControl, weight: v.initialWeight, payload: v.payload as Record<string, unknown> })),
      config: parsed.data,
    },
  };
}

/** Stores the experiment's phase. */
export async function saveExperimentStatus(prisma: PrismaClient, experimentId: string, status: ExperimentPhase): Promise<void> {
  await prisma.experiment.update({ where: { id: experimentId }, data: { status } });
}

/** How many units the experiment has assigned so far. */
export async function countUnits(prisma: PrismaClient, experimentId: string): Promise<number> {
  return prisma.assignment.count({ where: { experimentId } });
}

/** The experiment's stored config, or null when it does not exist or no longer parses. */
export async function storedConfig(prisma: PrismaClient, key: string): Promise<ExperimentConfig | null> {
  const row = await prisma.experiment.findUnique({ where: { key }, select: { config: true } });
  const parsed = row ? experimentConfigSchema.safeParse(row.config) : null;
  return parsed?.success ? parsed.data : null;
}

/** Whether an experiment with this key exists. */
export async function experimentExists(prisma: PrismaClient, key: string): Promise<boolean> {
  return (await prisma.experiment.findUnique({ where: { key }, select: { id: true } })) !== null;
}
