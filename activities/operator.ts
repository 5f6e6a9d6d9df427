/**
 * Operator actions sent through workflow updates: re-enabling an arm the circuit breaker stopped, and
 * acknowledging a sample-ratio alarm. Each is stored once (keyed by the workflow's action sequence)
 * with its actor and reason, and audited; the decide step honours them from the next cycle on.
 */
import { loadExperiment } from '../infra/experiment-repo.js';
import type { ActivityDeps } from './deps.js';

export interface OperatorActionInput {
  experimentKey: string;
  kind: 'arm.reenable' | 'srm.acknowledge';
  arm?: string;
  actor: string;
  reason: string;
  /** The workflow's last completed cycle. */
  cycle: number;
  /** The workflow's action sequence number (idempotency). */
  seq: number;
}

export function recordOperatorAction(d: ActivityDeps) {
  return async (input: OperatorActionInput): Promise<{ recorded: boolean }> => {
    const exp = await loadExperiment(d.prisma, input.experimentKey);
    const dedupeKey = `${exp.id}:operator:${input.seq}`;
    await d.prisma.$transaction([
      d.prisma.operatorAction.upsert({
        where: { dedupeKey },
        create: { experimentId: exp.id, kind: input.kind, arm: input.arm ?? null, actor: input.actor, reason: input.reason, cycle: input.cycle, dedupeKey },
        update: {},
      }),
      d.prisma.auditLog.upsert({
        where: { dedupeKey },
        create: { actor: input.actor, action: input.kind, target: input.arm ? `${input.experimentKey}/${input.arm}` : input.experimentKey, reason: input.reason, data: { cycle: input.cycle }, dedupeKey },
        update: {},
      }),
    ]);
    return { recorded: true };
  };
}
