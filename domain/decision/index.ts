/** Pure decision rules the workflow's decide activity calls each cycle. */
export * from './types.js';
export { decideExperiment } from './decide-experiment.js';
export { analyzeArms } from './analyze-arms.js';
export { toJsonSafe } from './json-safe.js';
export * from './policy.js';
export * from './segment-conclusions.js';
export { holdForSampleRatio, type SrmAcknowledgement } from './srm-hold.js';
export { routeStoppedArms, applyWeightActions } from './arm-weights.js';
