/**
 * Eligibility rules over the assignment context, compiled once per snapshot into closures so the
 * hot path never parses a rule or builds a RegExp.
 *
 * Semantics: a leaf rule on a missing (undefined/null) attribute is false, so `not` of it is true.
 * `range` is half-open [min, max) like layer ranges, so adjacent ranges partition a line.
 * `eq` is strict (`"1"` is not `1`): contexts are parsed at the API boundary, not coerced here.
 */
import type { Rule } from '../types.js';

/** Attribute values an app can send with an assignment request. */
export type ContextValue = string | number | boolean | null | undefined;
/** The unit's assignment context (attributes used by targeting, segmentation, strata). */
export type AssignContext = Readonly<Record<string, ContextValue>>;
/** A compiled rule: a predicate over the context. */
export type RulePredicate = (ctx: AssignContext) => boolean;

/** Raised when a snapshot carries a rule that cannot be compiled (bad regex, unknown op). */
export class RuleCompileError extends Error {
  readonly code = 'InvalidRule';
  constructor(message: string) {
    super(message);
    this.name = 'RuleCompileError';
  }
}

/** Longest attribute value a regex rule looks at; a longer value does not match (bounds matching time). */
export const MAX_REGEX_INPUT = 1024;

/** Compile a targeting rule into a predicate; throws RuleCompileError on an invalid rule. */
export function compileRule(rule: Rule): RulePredicate {
  switch (rule.op) {
    case 'eq': {
      const { attr, value } = rule;
      return (ctx) => ctx[attr] === value;
    }
    case 'in': {
      const { attr } = rule;
      const set = new Set<ContextValue>(rule.values);
      return (ctx) => {
        const v = ctx[attr];
        return v !== undefined && v !== null && set.has(v);
      };
    }
    case 'range': {
      const { attr } = rule;
      const min = rule.min ?? -Infinity;
      const max = rule.max ?? Infinity;
      return (ctx) => {
        const v = ctx[attr];
        return typeof v === 'number' && v >= min && v < max;
      };
    }
    case 'regex': {
      const { attr } = rule;
      let re: RegExp;
      try {
        re = new RegExp(rule.pattern);
      } catch (err) {
        throw new RuleCompileError(`invalid regex for '${attr}': ${(err as Error).message}`);
      }
      return (ctx) => {
        const v = ctx[attr];
        if (v === undefined || v === null) return false;
        const s = typeof v === 'string' ? v : String(v);
        return s.length <= MAX_REGEX_INPUT && re.test(s);
      };
    }
    case 'and': {
      const parts = rule.rules.map(compileRule);
      return (ctx) => {
        for (const part of parts) if (!part(ctx)) return false;
        return true;
      };
    }
    case 'or': {
      const parts = rule.rules.map(compileRule);
      return (ctx) => {
        for (const part of parts) if (part(ctx)) return true;
        return false;
      };
    }
    case 'not': {
      const inner = compileRule(rule.rule);
      return (ctx) => !inner(ctx);
    }
    default:
      throw new RuleCompileError(`unknown rule op '${(rule as { op: string }).op}'`);
  }
}

/** Evaluate a rule once without keeping the compiled form (tests, tooling). */
export function evaluateRule(rule: Rule, ctx: AssignContext): boolean {
  return compileRule(rule)(ctx);
}
