/** Public surface of assignment: hashing, targeting, snapshot compilation, assign, stickiness, strata. */
export { SALT, hashUnit, fnv1a32 } from './hash.js';
export { type AssignContext, MAX_REGEX_INPUT, RuleCompileError, compileRule, evaluateRule } from './targeting.js';
export { SnapshotError, compileSnapshot } from './compile-snapshot.js';
export { assign, assignPrepared, stratumCounterKey } from './assign.js';
export { resolveSticky } from './sticky.js';
export { blockLayout, pickFromBlock, stratumKey } from './stratified.js';
