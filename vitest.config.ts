import { defineConfig } from 'vitest/config';

// `npm test` runs two projects: the app's tests (test/, with one Azurite for the whole run) and
// every workspace package's own tests (packages/*/vitest.config.ts, e.g. the Graph simulator).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'app',
          include: ['test/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          pool: 'forks',
        },
      },
      'packages/*/vitest.config.ts',
    ],
  },
});
