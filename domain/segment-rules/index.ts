/** Public surface of the traffic policy across segments and segment-level rules. */
export * from './always-valid.js';
export * from './coverage.js';
export * from './throttle-rules.js';
export * from './segment-decisions.js';
export * from './segment-evidence.js';
