/** Public surface of allocation: policies, bounds, ramp, dampening, the contextual controller, simulation. */
export { applyBounds } from './bounds.js';
export { probabilityBest, sampleThompsonArm, topTwoWeights } from './thompson.js';
export { ucb1Indices, ucb1Weights } from './ucb.js';
export { epsilonGreedyWeights } from './epsilon-greedy.js';
export { type RampState, advanceRamp } from './ramp.js';
export { applyDampening, dampeningFactor } from './dampening.js';
export {
  type ContextRow,
  type ContextualConfig,
  fitContextualPolicy,
  riskAdjustedShare,
  scoreUplift,
  treatmentShareFor,
  upliftLowerBound,
} from './contextual.js';
export { type AllocationPolicy, type AllocationResult, computeAllocation } from './compute-allocation.js';
export { type ScenarioInput, parseScenario } from './scenario.js';
export { type PolicySummary, type ScenarioResult, simulateRun, simulateScenario } from './simulate.js';
