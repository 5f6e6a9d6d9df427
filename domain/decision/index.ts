/** Pure decision rules the workflow's decide activity calls each cycle. */
export * from './types.js';
export { decideExperiment, applyRules } from './decide-experiment.js';
export { decideSegments } from './decide-segments.js';
export { analyzeArms } from './analyze-arms.js';
export { toJsonSafe } from './json-safe.js';
