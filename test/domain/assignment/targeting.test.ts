import { describe, expect, it } from 'vitest';
import { MAX_REGEX_INPUT, RuleCompileError, compileRule, evaluateRule } from '../../../domain/assignment/index.js';
import type { Rule } from '../../../domain/types.js';
import type { AssignContext } from '../../../domain/assignment/index.js';

const ctx: AssignContext = { country: 'US', age: 30, plan: 'pro', beta: true, email: 'ann@acme.com', code: 42 };

const cases: Array<[string, Rule, boolean]> = [
  ['eq string', { attr: 'country', op: 'eq', value: 'US' }, true],
  ['eq mismatch', { attr: 'country', op: 'eq', value: 'DE' }, false],
  ['eq is strict about types', { attr: 'code', op: 'eq', value: '42' }, false],
  ['eq boolean', { attr: 'beta', op: 'eq', value: true }, true],
  ['eq missing attr', { attr: 'nope', op: 'eq', value: 'x' }, false],
  ['in hit', { attr: 'plan', op: 'in', values: ['free', 'pro'] }, true],
  ['in miss', { attr: 'plan', op: 'in', values: ['free'] }, false],
  ['in numbers', { attr: 'code', op: 'in', values: [41, 42] }, true],
  ['range inside', { attr: 'age', op: 'range', min: 18, max: 65 }, true],
  ['range min is inclusive', { attr: 'age', op: 'range', min: 30 }, true],
  ['range max is exclusive', { attr: 'age', op: 'range', max: 30 }, false],
  ['range needs a number', { attr: 'country', op: 'range', min: 0 }, false],
  ['regex hit', { attr: 'email', op: 'regex', pattern: '@acme\\.com$' }, true],
  ['regex miss', { attr: 'email', op: 'regex', pattern: '@other\\.com$' }, false],
  ['regex on number is on its string', { attr: 'code', op: 'regex', pattern: '^4' }, true],
  ['regex missing attr', { attr: 'nope', op: 'regex', pattern: '.*' }, false],
  ['and', { op: 'and', rules: [{ attr: 'country', op: 'eq', value: 'US' }, { attr: 'age', op: 'range', min: 18 }] }, true],
  ['and short-circuits false', { op: 'and', rules: [{ attr: 'country', op: 'eq', value: 'DE' }, { attr: 'age', op: 'range', min: 18 }] }, false],
  ['empty and is true', { op: 'and', rules: [] }, true],
  ['or', { op: 'or', rules: [{ attr: 'country', op: 'eq', value: 'DE' }, { attr: 'plan', op: 'eq', value: 'pro' }] }, true],
  ['empty or is false', { op: 'or', rules: [] }, false],
  ['not', { op: 'not', rule: { attr: 'country', op: 'eq', value: 'DE' } }, true],
  ['not of missing attr is true', { op: 'not', rule: { attr: 'nope', op: 'eq', value: 1 } }, true],
  [
    'nested',
    { op: 'and', rules: [{ op: 'or', rules: [{ attr: 'plan', op: 'in', values: ['pro'] }] }, { op: 'not', rule: { attr: 'email', op: 'regex', pattern: 'test' } }] },
    true,
  ],
];

describe('targeting rules', () => {
  it.each(cases)('%s', (_name, rule, expected) => {
    expect(evaluateRule(rule, ctx)).toBe(expected);
  });
  it('compiles the regex once, not per evaluation', () => {
    const original = globalThis.RegExp;
    let constructed = 0;
    const Counting = function (this: unknown, ...args: ConstructorParameters<typeof RegExp>) {
      constructed++;
      return new original(...args);
    } as unknown as RegExpConstructor;
    globalThis.RegExp = Counting;
    try {
      const pred = compileRule({ attr: 'email', op: 'regex', pattern: 'acme' });
      for (let i = 0; i < 100; i++) pred(ctx);
    } finally {
      globalThis.RegExp = original;
    }
    expect(constructed).toBe(1);
  });
  it('does not match values longer than the bound', () => {
    const pred = compileRule({ attr: 'v', op: 'regex', pattern: '^a+$' });
    expect(pred({ v: 'a'.repeat(MAX_REGEX_INPUT) })).toBe(true);
    expect(pred({ v: 'a'.repeat(MAX_REGEX_INPUT + 1) })).toBe(false);
  });
  it('rejects an invalid regex at compile time with a typed error', () => {
    expect(() => compileRule({ attr: 'email', op: 'regex', pattern: '(' })).toThrow(RuleCompileError);
  });
});
