/** Pure decision rules the workflow's decide activity calls each cycle. */
export * from './types.js';
export { decideExperiment } from './decide-experiment.js';
export { decideSegments } from './decide-segments.js';
