import { defineConfig } from 'vitest/config';

// The simulator's own tests: no Azurite, no app code. The root config runs them as the
// `graph-simulator` project of `npm test`; `npm test` in this folder runs them alone.
export default defineConfig({
  test: {
    name: 'graph-simulator',
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    pool: 'forks',
  },
});
