/** What the alert scan observes in Postgres: the live experiments and, per experiment, its latest decision, breaker stops, snapshot and webhook deliveries. */
import type { ExperimentStatus } from '../generated/prisma/client.js';
import type { PrismaClient } from './prisma.js';

/** Recent webhook deliveries read per experiment. */
const DELIVERY_WINDOW = 20;

export interface LiveExperimentFacts {
  experiments: Array<{ id: string; key: string; status: ExperimentStatus; config: unknown }>;
  /** Each experiment's latest stored decision (by experiment id). */
  decisions: Array<{ experimentId: string; cycle: number; statistics: unknown }>;
  /** The latest decide step's `stoppedArms` (cumulative breaker stops), as stored. */
  stops: Array<{ experimentId: string; stopped: unknown }>;
  /** When each experiment's newest snapshot was published. */
  snapshots: Array<{ experimentId: string; createdAt: Date }>;
  /** The last DELIVERY_WINDOW decision webhooks per experiment key, newest first (alerts' own excluded). */
  deliveries: Array<{ experimentKey: string; status: string; attempts: number }>;
}

/** Running and paused experiments with their latest facts. */
export async function observeLiveExperiments(prisma: PrismaClient): Promise<LiveExperimentFacts> {
  const experiments = await prisma.experiment.findMany({ where: { status: { in: ['running', 'paused'] } }, select: { id: true, key: true, status: true, config: true } });
  if (!experiments.length) return { experiments, decisions: [], stops: [], snapshots: [], deliveries: [] };
  const ids = experiments.map((r) => r.id);
  const keys = experiments.map((r) => r.key);
  const [decisions, stops, snapshots, deliveries] = await Promise.all([
    prisma.$queryRaw<LiveExperimentFacts['decisions']>`
      SELECT DISTINCT ON ("experimentId") "experimentId", cycle, statistics FROM "Decision"
      WHERE "experimentId" = ANY(${ids}::uuid[]) ORDER BY "experimentId", cycle DESC`,
    prisma.$queryRaw<LiveExperimentFacts['stops']>`
      SELECT DISTINCT ON ("experimentId") "experimentId", payload -> 'stoppedArms' AS stopped FROM "CycleStats"
      WHERE "experimentId" = ANY(${ids}::uuid[]) AND step = 'decide' ORDER BY "experimentId", cycle DESC`,
    prisma.$queryRaw<LiveExperimentFacts['snapshots']>`
      SELECT "experimentId", max("createdAt") AS "createdAt" FROM "AllocationSnapshot" WHERE "experimentId" = ANY(${ids}::uuid[]) GROUP BY 1`,
    prisma.$queryRaw<LiveExperimentFacts['deliveries']>`
      SELECT "experimentKey", status::text, attempts FROM (
        SELECT "experimentKey", status, attempts, row_number() OVER (PARTITION BY "experimentKey" ORDER BY "createdAt" DESC) AS rn
        FROM "Notification" WHERE channel = 'webhook' AND "experimentKey" = ANY(${keys}::text[]) AND "idempotencyKey" NOT LIKE 'alert-%'
      ) n WHERE rn <= ${DELIVERY_WINDOW} ORDER BY "experimentKey", rn`,
  ]);
  return { experiments, decisions, stops, snapshots, deliveries };
}
