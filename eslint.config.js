// ESLint (flat config, typescript-eslint). It guards the layering the design depends on:
//  - workflows/ stay deterministic: no Node built-ins, no Date or Math.random (workflows/clock.ts is
//    the one documented exception), and only type imports from activities/ and infra/ (and from
//    zod and the message schemas, which stay out of the workflow bundle);
//  - domain/ stays pure: no Prisma, Redis, BullMQ, Temporal, infra/ or process.env;
//  - api/ is the top layer: nothing in activities/, workflows/, domain/ or infra/ imports it;
//  - activities/ query no database themselves: they load and store through infra/ repositories;
//  - no floating promises anywhere (an unawaited promise loses its error).
// Unused exports are checked by `npm run lint:exports` (ts-unused-exports), run by `npm run lint`.
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

const noApi = { group: ['**/api/**', '**/api'], message: 'api/ is the top layer (HTTP): share the logic through domain/ or infra/ instead' };

export default tseslint.config(
  {
    ignores: ['node_modules/**', 'generated/**', 'dist/**', '.data/**', '.tools/**', 'test-artifacts/**', '**/*.js', '**/*.cjs', '**/*.mjs'],
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'workflow code runs in a deterministic sandbox: no Node built-ins' })),
          patterns: [
            {
              group: ['**/activities/**', '**/activities', '**/infra/**', '**/infra', '@temporalio/activity', '@temporalio/worker', '@temporalio/client'],
              allowTypeImports: true,
              message: 'workflows import activities and infra as types only (proxyActivities); their code is not deterministic',
            },
            {
              group: ['zod', '**/experiment/messages.js'],
              allowTypeImports: true,
              message: 'zod stays out of the workflow bundle: import message types only (domain/experiment/messages.ts)',
            },
            noApi,
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'Date', message: 'read workflow time through workflows/clock.ts' }],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'workflows must be deterministic: pass a seed to a domain rng' }],
      'no-restricted-syntax': ['error', { selector: "MemberExpression[object.name='process']", message: 'workflows cannot read process' }],
    },
  },
  {
    files: ['workflows/clock.ts'],
    rules: { 'no-restricted-globals': 'off' },
  },
  {
    files: ['infra/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [noApi] }] },
  },
  {
    files: ['activities/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            noApi,
            { group: ['@prisma/*', 'pg', '**/generated/**'], allowTypeImports: true, message: 'activities load and store through infra/ repositories' },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        // d.prisma.experiment…, prisma.$transaction…, tx.…: a query; d.prisma passed to a repository is not.
        { selector: "MemberExpression[object.type='MemberExpression'][object.property.name='prisma']", message: 'activities do not query the database: call an infra/ repository' },
        { selector: "MemberExpression[object.name=/^(prisma|tx)$/]", message: 'activities do not query the database: call an infra/ repository' },
        { selector: "CallExpression[callee.property.name='query'][callee.object.property.name='pool']", message: 'activities do not query the database: call an infra/ repository' },
        { selector: "CallExpression[callee.property.name='query'][callee.object.name='pool']", message: 'activities do not query the database: call an infra/ repository' },
      ],
    },
  },
  {
    files: ['domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@prisma/*', 'prisma', '**/generated/**', 'ioredis', 'bullmq', 'pg', '@temporalio/*', '**/infra/**', '**/infra', '**/activities/**', '**/api/**'],
              message: 'domain/ is pure: no database, Redis, queues or Temporal; pass data in',
            },
            { regex: '^(\\.\\./)+config\\.js$', message: 'domain/ does not read configuration; pass values in' },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "MemberExpression[object.name='process'][property.name='env']", message: 'domain/ does not read the environment; config.ts parses it once' },
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'domain/ takes `now` as an argument' },
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'domain/ takes `now` as an argument' },
      ],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'domain/ takes a seeded rng' }],
    },
  },
);
