/** Pure decision rules the workflow's decide activity calls each cycle. */
export * from './types.js';
export { decideExperiment } from './decide-experiment.js';
export * from './policy.js';
export * from './segment-conclusions.js';
export { type SrmAcknowledgement } from './srm-hold.js';
