/** The decision log: one row per experiment and cycle, with the statistics behind it. */
import type { PrismaClient } from './prisma.js';

export interface DecisionRecord {
  outcome: string;
  rationale: string;
  /** JSON-safe statistics (non-finite numbers already replaced). */
  statistics: object;
}

/** Stores the cycle's decision unless one is stored (a retried decide keeps the first); returns its id. */
export async function recordDecisionOnce(prisma: PrismaClient, experimentId: string, cycle: number, d: DecisionRecord): Promise<string> {
  const row = await prisma.decision.upsert({
    where: { experimentId_cycle: { experimentId, cycle } },
    create: { experimentId, cycle, ...d },
    update: {},
    select: { id: true },
  });
  return row.id;
}
