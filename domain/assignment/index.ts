/** Public surface of assignment: hashing, targeting, snapshot compilation, assign, stickiness, strata. */
export { HASH_VERSIONS, type HashVersion, SALT, hashUnit, fnv1a32, fmix32 } from './hash.js';
export { type AssignContext, type ContextValue, type RulePredicate, RuleCompileError, MAX_REGEX_INPUT, compileRule, evaluateRule } from './targeting.js';
export {
  type PreparedSnapshot,
  type PreparedSegment,
  SnapshotError,
  compileSnapshot,
  placeSegment,
} from './compile-snapshot.js';
export {
  type AssignOptions,
  type AssignReason,
  type AssignResult,
  assign,
  assignPrepared,
  prepareSnapshot,
  stratumCounterKey,
} from './assign.js';
export { makeResult } from './assign-result.js';
export { type StickyDecision, resolveSticky } from './sticky.js';
export { MAX_BLOCK_SIZE, type BlockLayout, blockLayout, blockCounterKey, pickFromBlock, stratumKey } from './stratified.js';
