/** ReDoS: super-linear targeting regexes are refused; whatever is accepted matches long input fast. */
import { describe, expect, it } from 'vitest';
import { regexSafetyProblem } from '../../api/regex-safety.js';
import { MAX_REGEX_INPUT, compileRule } from '../../domain/assignment/index.js';

const evil = ['^(a+)+$', '(a|a)*$', '(a|aa)+$', '^(\\w+\\s?)*$', '(.*a){12}', '^(([a-z])+.)+[A-Z]([a-z])+$', '(x+x+)+y', '^(a|b|ab)*c$'];
const fine = ['@acme\\.com$', '^(ios|android)$', '^[a-z]+@[a-z]+\\.com$', '^[0-9]{3}-[0-9]{4}$', 'beta', '^v[0-9]+\\.[0-9]+'];

describe('regex safety at creation', () => {
  it.each(evil)('rejects %s', async (pattern) => {
    expect(await regexSafetyProblem(pattern)).toMatch(/time on crafted input|could not be proven safe/);
  });
  it.each(fine)('accepts %s', async (pattern) => {
    expect(await regexSafetyProblem(pattern)).toBeNull();
  });
  it('accepted patterns evaluate a maximal hostile input quickly', () => {
    const inputs = ['a', '0', '@', ' ', 'ab'].map((c) => c.repeat(MAX_REGEX_INPUT).slice(0, MAX_REGEX_INPUT - 1) + '!');
    const preds = fine.map((pattern) => compileRule({ attr: 'v', op: 'regex', pattern }));
    const t0 = performance.now();
    for (const pred of preds) for (const v of inputs) pred({ v });
    expect(performance.now() - t0).toBeLessThan(50);
  });
});
