import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration suites share one Temporal server, one Postgres and one Redis; each uses its own
    // experiment keys, so files may run in parallel, but two cores limit useful parallelism.
    maxWorkers: 2,
    // A failed test runs once more before it fails the run; the reporter marks each one that needed
    // it "(retry x1)". The end-to-end files run real servers on two shared cores, and two timing
    // flakes remain open (issue 9's note); every test still has to pass.
    retry: 1,
    setupFiles: ['test/setup.ts'],
  },
});
