/**
 * Rejects targeting regexes that can backtrack super-linearly (ReDoS), at experiment creation:
 * `recheck` analyses each pattern (its native checker runs in a child process, so the event loop
 * stays free) and anything not proven linear is refused with a 400 naming the field.
 */
import { check } from 'recheck';
import type { Rule } from '../domain/types.js';
import { ApiError } from './errors.js';

const CHECK_TIMEOUT_MS = 5_000;

/** Every regex leaf of `rule` with its field path. */
function regexLeaves(rule: Rule, path: string, out: Array<{ path: string; pattern: string }> = []) {
  switch (rule.op) {
    case 'regex':
      out.push({ path: `${path}.pattern`, pattern: rule.pattern });
      break;
    case 'and':
    case 'or':
      rule.rules.forEach((r, i) => regexLeaves(r, `${path}.rules[${i}]`, out));
      break;
    case 'not':
      regexLeaves(rule.rule, `${path}.rule`, out);
      break;
    default:
      break;
  }
  return out;
}

/** Why `pattern` is unsafe to run on untrusted input, or null when it matches in linear time. */
export async function regexSafetyProblem(pattern: string): Promise<string | null> {
  const r = await check(pattern, '', { timeout: CHECK_TIMEOUT_MS });
  if (r.status === 'safe') return null;
  if (r.status === 'vulnerable') return `pattern can take ${r.complexity.type} time on crafted input; rewrite it without nested or overlapping repetition`;
  return `pattern could not be proven safe (${r.error.kind}); simplify it`;
}

/** Throws a 400 naming the first targeting regex that is not proven linear-time. */
export async function assertSafeRegexes(rule: Rule | undefined, path: string): Promise<void> {
  if (!rule) return;
  for (const leaf of regexLeaves(rule, path)) {
    const problem = await regexSafetyProblem(leaf.pattern);
    if (problem) throw new ApiError(400, 'invalid_request', `${leaf.path}: ${problem}`, { issues: [{ field: leaf.path, message: problem }] });
  }
}
