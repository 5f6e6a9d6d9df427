/**
 * Each step's output is stored once per (experiment, cycle, step). A retried activity returns the
 * stored output instead of recomputing and writing again, and later steps read earlier outputs from
 * here, so Temporal's history carries only small summaries. Every payload read back is parsed with
 * its step's zod schema (activities/step-payloads.ts); one that does not parse is a permanent fault
 * (InvalidStoredDataError: the activity fails without retries).
 */
import type { z } from 'zod';
import { InvalidStoredDataError } from './errors.js';
import type { PrismaClient } from './prisma.js';

export type CycleStep = 'collect' | 'segment' | 'predict' | 'reallocate' | 'throttle' | 'decide';

/** Where a step's payload lives. */
export interface StepRef {
  prisma: PrismaClient;
  experimentId: string;
  cycle: number;
}

function parseStored<T>(schema: z.ZodType<T>, payload: unknown, ref: StepRef, cycle: number, step: CycleStep): T {
  const r = schema.safeParse(payload);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const at = issue?.path.length ? issue.path.join('.') : 'payload';
  throw new InvalidStoredDataError(`stored ${step} payload of cycle ${cycle} (experiment ${ref.experimentId}) is invalid at ${at}: ${issue?.message ?? 'unknown'}`);
}

/** A step's stored output for this cycle, parsed, or null when the step has not run. */
export async function readStep<T>(ref: StepRef, step: CycleStep, schema: z.ZodType<T>): Promise<T | null> {
  const { prisma, experimentId, cycle } = ref;
  const row = await prisma.cycleStats.findUnique({ where: { experimentId_cycle_step: { experimentId, cycle, step } } });
  return row ? parseStored(schema, row.payload, ref, cycle, step) : null;
}

/** Stores a step's output unless one is already stored; returns whichever is stored, parsed. */
export async function writeStepOnce<T>(ref: StepRef, step: CycleStep, schema: z.ZodType<T>, payload: T): Promise<T> {
  const { prisma, experimentId, cycle } = ref;
  const rows = await prisma.$queryRaw<Array<{ payload: unknown }>>`
    INSERT INTO "CycleStats" ("experimentId", cycle, step, payload)
    VALUES (${experimentId}::uuid, ${cycle}, ${step}, ${JSON.stringify(payload)}::jsonb)
    ON CONFLICT ("experimentId", cycle, step) DO UPDATE SET step = EXCLUDED.step
    RETURNING payload`;
  const row = rows[0];
  if (!row) throw new Error(`storing the ${step} payload of cycle ${cycle} returned no row`);
  return parseStored(schema, row.payload, ref, cycle, step);
}

/**
 * Runs a step at most once per cycle: returns the stored output when there is one, otherwise
 * computes, stores and returns it (a concurrent or earlier write wins; both parse the same way).
 */
export async function runStepOnce<T>(ref: StepRef, step: CycleStep, schema: z.ZodType<T>, compute: () => Promise<T>): Promise<T> {
  const done = await readStep(ref, step, schema);
  if (done) return done;
  return writeStepOnce(ref, step, schema, await compute());
}

/** The newest stored output of a step before this cycle, if any, parsed. */
export async function readPreviousStep<T>(ref: StepRef, step: CycleStep, schema: z.ZodType<T>): Promise<{ cycle: number; payload: T } | null> {
  const { prisma, experimentId, cycle } = ref;
  const row = await prisma.cycleStats.findFirst({ where: { experimentId, step, cycle: { lt: cycle } }, orderBy: { cycle: 'desc' } });
  return row ? { cycle: row.cycle, payload: parseStored(schema, row.payload, ref, row.cycle, step) } : null;
}

/** An experiment whose stored payloads feed the prediction history. */
export interface HistoryExperiment {
  id: string;
  status: string;
  config: unknown;
}

/**
 * The stored 'predict' and 'decide' payloads of the `experiments` most recent experiments that have
 * reached a decision, newest first, at most `maxRows` of them; the current experiment's rows only
 * before `cycle` (its later ones describe the future the prediction is about).
 */
export async function loadCycleHistory(
  prisma: PrismaClient,
  current: { experimentId: string; cycle: number },
  limits: { experiments: number; maxRows: number },
): Promise<{ experiments: HistoryExperiment[]; rows: Array<{ experimentId: string; cycle: number; step: string; payload: unknown }> }> {
  const experiments = await prisma.experiment.findMany({
    where: { cycleStats: { some: { step: 'decide' } } },
    orderBy: { createdAt: 'desc' },
    take: limits.experiments,
    select: { id: true, status: true, config: true },
  });
  if (!experiments.length) return { experiments, rows: [] };
  const rows = await prisma.cycleStats.findMany({
    where: {
      experimentId: { in: experiments.map((e) => e.id) },
      step: { in: ['predict', 'decide'] },
      NOT: { experimentId: current.experimentId, cycle: { gte: current.cycle } },
    },
    orderBy: { createdAt: 'desc' },
    take: limits.maxRows,
    select: { experimentId: true, cycle: true, step: true, payload: true },
  });
  return { experiments, rows };
}
