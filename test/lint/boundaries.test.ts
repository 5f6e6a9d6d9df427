/**
 * The ESLint rules that guard the layering (eslint.config.js) reject what they should: each probe
 * is linted as if it were a file in workflows/, domain/, activities/ or infra/, and must raise exactly
 * the named rules.
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The probes are not files on disk, so the type-aware parser gets a default project for them.
const probes = ['workflows/lint-probe.ts', 'domain/lint-probe.ts', 'api/lint-probe.ts', 'activities/lint-probe.ts', 'infra/lint-probe.ts'];
const eslint = new ESLint({
  cwd: process.cwd(),
  overrideConfig: { languageOptions: { parserOptions: { projectService: { allowDefaultProject: probes } } } },
});

/** Rule ids reported for `code` linted as `path` (the file need not exist). */
async function rulesFor(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path });
  return (result?.messages ?? []).map((m) => m.ruleId ?? `fatal: ${m.message}`).sort();
}

describe('ESLint boundaries', { timeout: 180_000 }, () => {
  it('workflows/: no Node built-ins, no value imports of activities or infra, no Date, no Math.random', async () => {
    const rules = await rulesFor(
      'workflows/lint-probe.ts',
      [
        "import { readFileSync } from 'node:fs';",
        "import { createActivities } from '../activities/index.js';",
        "import type { Activities } from '../activities/index.js';",
        'export const probe: unknown[] = [readFileSync, createActivities, Math.random(), Date.now()];',
        'export type A = Activities;',
      ].join('\n'),
    );
    expect(rules).toEqual(['@typescript-eslint/no-restricted-imports', '@typescript-eslint/no-restricted-imports', 'no-restricted-globals', 'no-restricted-properties']);
  });

  it('workflows/: message schemas and zod as types only (zod stays out of the workflow bundle)', async () => {
    const rules = await rulesFor(
      'workflows/lint-probe.ts',
      [
        "import { z } from 'zod';",
        "import { concludeMessage } from '../domain/experiment/messages.js';",
        "import type { ConcludeInput } from '../domain/experiment/messages.js';",
        'export const probe: unknown[] = [z, concludeMessage];',
        'export type C = ConcludeInput;',
      ].join('\n'),
    );
    expect(rules).toEqual(['@typescript-eslint/no-restricted-imports', '@typescript-eslint/no-restricted-imports']);
  });

  it('workflows/clock.ts is the one place that may read Date', async () => {
    expect(await rulesFor('workflows/clock.ts', 'export const now = (): number => Date.now();\n')).toEqual([]);
  });

  it('domain/: no Prisma, Redis, infra, process.env, Date.now() or Math.random', async () => {
    const rules = await rulesFor(
      'domain/lint-probe.ts',
      [
        "import { PrismaClient } from '../generated/prisma/client.js';",
        "import { Redis } from 'ioredis';",
        "import { createPool } from '../infra/pg.js';",
        'export const probe: unknown[] = [PrismaClient, Redis, createPool, process.env.X, Date.now(), new Date(), Math.random(), new Date(0)];',
      ].join('\n'),
    );
    expect(rules).toEqual([
      '@typescript-eslint/no-restricted-imports',
      '@typescript-eslint/no-restricted-imports',
      '@typescript-eslint/no-restricted-imports',
      'no-restricted-properties',
      'no-restricted-syntax',
      'no-restricted-syntax',
      'no-restricted-syntax',
    ]);
  });

  it('activities/: no query of their own (Prisma model, transaction, raw SQL, pg) and no api/ import; repositories may take d.prisma', async () => {
    const rules = await rulesFor(
      'activities/lint-probe.ts',
      [
        "import { ApiError } from '../api/errors.js';",
        "import { PrismaClient } from '../generated/prisma/client.js';",
        "import type { Pool } from 'pg';",
        "import { loadExperiment } from '../infra/experiment-repo.js';",
        'export async function probe(d: { prisma: PrismaClient; pool: Pool }, prisma: PrismaClient): Promise<unknown[]> {',
        "  const exp = await loadExperiment(d.prisma, 'k');",
        "  const rows = await d.prisma.experiment.findMany({ where: { key: 'k' } });",
        '  await prisma.$transaction(async (tx) => tx.auditLog.count());',
        "  const r = await d.pool.query('SELECT 1');",
        '  return [ApiError, exp, rows, r];',
        '}',
      ].join('\n'),
    );
    expect(rules).toEqual([
      '@typescript-eslint/no-restricted-imports',
      '@typescript-eslint/no-restricted-imports',
      'no-restricted-syntax',
      'no-restricted-syntax',
      'no-restricted-syntax',
      'no-restricted-syntax',
    ]);
  });

  it('infra/ and workflows/ do not import api/ (not even its types)', async () => {
    const code = "import type { ApiError } from '../api/errors.js';\nexport type E = ApiError;\n";
    expect(await rulesFor('infra/lint-probe.ts', code)).toEqual(['@typescript-eslint/no-restricted-imports']);
    expect(await rulesFor('workflows/lint-probe.ts', code)).toEqual(['@typescript-eslint/no-restricted-imports']);
  });

  it('a floating promise is an error anywhere', async () => {
    const rules = await rulesFor('api/lint-probe.ts', 'async function work(): Promise<number> { return 1; }\nwork();\nvoid work();\n');
    expect(rules).toEqual(['@typescript-eslint/no-floating-promises']);
  });
});
