import { describe, expect, it } from 'vitest';
import { evaluationRequestSchema } from '../../../domain/evaluation/request.js';

describe('evaluation request dates', () => {
  it.each(['from', 'to'])('an impossible %s date says it is not a date (not "expected date, received Date")', (field) => {
    const r = evaluationRequestSchema.safeParse({ kind: 'window', experiment: 'x', [field]: '2026-13-45' });
    expect(r.success).toBe(false);
    const issue = r.error?.issues.find((i) => i.path[0] === field);
    expect(issue?.message).toMatch(/not a date/);
  });
});
