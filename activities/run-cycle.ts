/**
 * The six steps of a cycle (collect → segment → predict → reallocate → throttle/terminate → decide)
 * in one activity. Each step still stores its output once per cycle (infra/cycle-store.ts), so a retried or
 * re-dispatched runCycle skips the steps already stored and resumes at the first missing one: the
 * durability of one activity per step, for two workflow tasks a cycle instead of seven.
 */
import type { Weights } from '../domain/types.js';
import type { CycleRef } from './deps.js';
import type { DecideResult } from './decide.js';
import type { ReallocateInput } from './reallocate.js';

type Step<I, O> = (input: I) => Promise<O>;
/** Weights per segment id, as a step published them. */
type AllocationWeights = Record<string, Weights>;

/** The step activities runCycle chains; the same functions the per-step workflow path calls. */
export interface CycleSteps {
  collectData: Step<CycleRef, unknown>;
  segmentUnits: Step<CycleRef, unknown>;
  predictSignificance: Step<CycleRef, unknown>;
  reallocateTraffic: Step<ReallocateInput, { version: number; weights: AllocationWeights }>;
  throttleOrTerminate: Step<CycleRef, { version: number | null; weights: AllocationWeights | null; changes: string[] }>;
  decide: Step<CycleRef, DecideResult>;
}

/** What the workflow needs back: the results of the steps that publish weights, and the decision. */
export interface CycleResult {
  allocation: Awaited<ReturnType<CycleSteps['reallocateTraffic']>>;
  throttled: Awaited<ReturnType<CycleSteps['throttleOrTerminate']>>;
  decision: DecideResult;
}

export function runCycle(steps: CycleSteps) {
  return async (input: ReallocateInput): Promise<CycleResult> => {
    const ref: CycleRef = { experimentKey: input.experimentKey, cycle: input.cycle };
    await steps.collectData(ref);
    await steps.segmentUnits(ref);
    await steps.predictSignificance(ref);
    const allocation = await steps.reallocateTraffic(input);
    const throttled = await steps.throttleOrTerminate(ref);
    const decision = await steps.decide(ref);
    return { allocation, throttled, decision };
  };
}
