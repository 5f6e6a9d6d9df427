/**
 * Operator actions sent through workflow updates: re-enabling an arm the circuit breaker stopped, and
 * acknowledging a sample-ratio alarm. Each is stored once (keyed by the workflow's action sequence)
 * with its actor and reason, and audited; the decide step honours them from the next cycle on.
 */
import { loadExperiment } from '../infra/experiment-repo.js';
import { recordOperatorActionOnce } from '../infra/operator-actions.js';
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
    await recordOperatorActionOnce(d.prisma, {
      experimentId: exp.id,
      experimentKey: input.experimentKey,
      kind: input.kind,
      arm: input.arm ?? null,
      actor: input.actor,
      reason: input.reason,
      cycle: input.cycle,
      dedupeKey: `${exp.id}:operator:${input.seq}`,
    });
    return { recorded: true };
  };
}
