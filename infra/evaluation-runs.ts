/**
 * Stored evaluations: each request and its result (or error) in one EvaluationRun row, linked to
 * the tracked dataset (EvaluationDataset) it read.
 */
import type { Pool } from 'pg';
import type { PrismaClient } from './prisma.js';

/** A run's stored request and state. */
export async function loadEvaluationRun(prisma: PrismaClient, id: string) {
  return prisma.evaluationRun.findUnique({ where: { id }, select: { status: true, error: true, request: true } });
}

export type RunOutcome = { status: 'succeeded'; result: object; datasetId: string | null } | { status: 'failed'; error: string };

/** Records how a running run ended; a run already finished keeps its first outcome. */
export async function finishEvaluationRun(prisma: PrismaClient, id: string, outcome: RunOutcome, finishedAt: Date): Promise<void> {
  await prisma.evaluationRun.updateMany({ where: { id, status: 'running' }, data: { ...outcome, finishedAt } });
}

/** Stores a run that already finished (run in process); returns its id. */
export async function recordFinishedRun(prisma: PrismaClient, run: { kind: string; request: object; result: object; datasetId: string | null }, finishedAt: Date): Promise<string> {
  const row = await prisma.evaluationRun.create({ data: { ...run, status: 'succeeded', finishedAt }, select: { id: true } });
  return row.id;
}

/** A tracked dataset's row, or null. */
export async function loadEvaluationDataset(prisma: PrismaClient, id: string) {
  return prisma.evaluationDataset.findUnique({ where: { id } });
}

/** Exposures an evaluation of the experiment would read (every exposure when no experiment is named). */
export async function exposureCount(pool: Pool, experimentKey: string | undefined): Promise<number> {
  if (experimentKey === undefined) return Number.POSITIVE_INFINITY;
  const r = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "Assignment" a JOIN "Experiment" e ON e.id = a."experimentId" WHERE e.key = $1`, [experimentKey]);
  return r.rows[0]?.n ?? 0;
}
