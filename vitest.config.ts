import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Privileged netns tests and daemon-process tests share kernel state and ports:
    // files run in parallel workers, tests inside a file run in order.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
