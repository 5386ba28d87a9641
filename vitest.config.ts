import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // No test traffic leaves loopback (in workers and the Node processes they start: helpers/loopback-only.mjs);
    // privileged files (*.priv.test.ts) run in a throwaway host netns of their own, a no-op for the rest.
    setupFiles: ['test/helpers/loopback-only.mjs', 'test/priv-setup.ts'],
    // Files run in parallel workers (privileged ones each in a namespace of its own),
    // tests inside a file run in order.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest's default (cores - 1) runs one file at a time on 2 cores, and most of a file's time is spent waiting
    // (child daemons, emulator latency, timers), not computing: one file more than cores keeps both busy.
    maxWorkers: Math.max(2, availableParallelism() + 1),
  },
});
