/** Public surface of allocation: policies, bounds, ramp, dampening, the contextual controller, simulation. */
export { type AllocationBounds, DEFAULT_BOUNDS, applyBounds, resolveBounds } from './bounds.js';
export { type OutcomeModel, armPosteriors } from './posterior.js';
export { probabilityBest, sampleThompsonArm, topTwoWeights } from './thompson.js';
export { argmaxWeights, ucb1Indices, ucb1Weights } from './ucb.js';
export { epsilonGreedyWeights } from './epsilon-greedy.js';
export { type RampDecision, type RampState, type RampStep, advanceRamp } from './ramp.js';
export { type ExternalContextEvent, applyDampening, dampeningFactor } from './dampening.js';
export {
  type ContextRow,
  type ContextualConfig,
  type ContextualFit,
  type ContextualModel,
  type LeafSummary,
  fitContextualPolicy,
  riskAdjustedShare,
  scoreUplift,
  treatmentShareFor,
  upliftLowerBound,
} from './contextual.js';
export {
  type AllocationInput,
  type AllocationPolicy,
  type AllocationPolicyKind,
  type AllocationResult,
  computeAllocation,
} from './compute-allocation.js';
export { type Scenario, type ScenarioInput, type SimPolicy, parseScenario, scenarioSchema, simPolicySchema } from './scenario.js';
export { type PolicySummary, type RunResult, type ScenarioResult, policyLabel, simulateRun, simulateScenario } from './simulate.js';
