import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration suites share one Temporal server, one Postgres and one Redis; each uses its own
    // experiment keys, so files may run in parallel, but two cores limit useful parallelism.
    maxWorkers: 2,
    setupFiles: ['test/setup.ts'],
  },
});
