/**
 * Each step's output is stored once per (experiment, cycle, step). A retried activity returns the
 * stored output instead of recomputing and writing again, and later steps read earlier outputs from
 * here, so Temporal's history carries only small summaries.
 */
import type { PrismaClient } from '../infra/prisma.js';

export type CycleStep = 'collect' | 'segment' | 'predict' | 'reallocate' | 'throttle' | 'decide';

export async function readStep<T>(prisma: PrismaClient, experimentId: string, cycle: number, step: CycleStep): Promise<T | null> {
  const row = await prisma.cycleStats.findUnique({ where: { experimentId_cycle_step: { experimentId, cycle, step } } });
  return row ? (row.payload as T) : null;
}

/** Stores a step's output unless one is already stored; returns whichever is stored. */
export async function writeStepOnce<T>(prisma: PrismaClient, experimentId: string, cycle: number, step: CycleStep, payload: T): Promise<T> {
  const rows = await prisma.$queryRaw<Array<{ payload: T }>>`
    INSERT INTO "CycleStats" ("experimentId", cycle, step, payload)
    VALUES (${experimentId}::uuid, ${cycle}, ${step}, ${JSON.stringify(payload)}::jsonb)
    ON CONFLICT ("experimentId", cycle, step) DO UPDATE SET step = EXCLUDED.step
    RETURNING payload`;
  return rows[0]!.payload;
}

/** The newest stored output of a step before `cycle`, if any. */
export async function readPreviousStep<T>(prisma: PrismaClient, experimentId: string, cycle: number, step: CycleStep): Promise<{ cycle: number; payload: T } | null> {
  const row = await prisma.cycleStats.findFirst({ where: { experimentId, step, cycle: { lt: cycle } }, orderBy: { cycle: 'desc' } });
  return row ? { cycle: row.cycle, payload: row.payload as T } : null;
}
