/** Retraining policies and runs (TrainingPolicy, TrainingRun rows) as the retraining workflow's steps read and record them. */
import type { PrismaClient } from './prisma.js';

/** The entity's training policies (one per model type). */
export async function trainingPolicies(prisma: PrismaClient, entity: string) {
  return prisma.trainingPolicy.findMany({ where: { entity } });
}

/** The entity × model type's policy, or null. */
export async function trainingPolicy(prisma: PrismaClient, entity: string, modelType: string) {
  return prisma.trainingPolicy.findUnique({ where: { entity_modelType: { entity, modelType } } });
}

/** Stores the run with its plan unless it is stored (a retried step keeps the first). */
export async function createRunOnce(prisma: PrismaClient, run: { id: string; workflowId: string; entity: string; status: string; plan: object }): Promise<void> {
  await prisma.trainingRun.upsert({ where: { id: run.id }, create: run, update: {} });
}

/** Moves the run to `status`; `experiments` records the comparisons it started. */
export async function setRunStatus(prisma: PrismaClient, runId: string, status: string, experiments?: string[]): Promise<void> {
  await prisma.trainingRun.update({ where: { id: runId }, data: { status, ...(experiments === undefined ? {} : { experiments }) } });
}

/** Records how the run ended (a run that no longer exists records nothing). */
export async function finishRun(prisma: PrismaClient, runId: string, end: { status: string; note: string; at: Date }): Promise<void> {
  await prisma.trainingRun.updateMany({ where: { id: runId }, data: { status: end.status, note: end.note, finishedAt: end.at } });
}

/** The workflow ids of these runs (the ones that exist). */
export async function runWorkflowIds(prisma: PrismaClient, runIds: string[]): Promise<string[]> {
  const runs = await prisma.trainingRun.findMany({ where: { id: { in: runIds } }, select: { workflowId: true } });
  return runs.map((r) => r.workflowId);
}
