/**
 * `npm run test:fabric`: the VPC fabric traffic matrix (test/fabric/README.md) alone, as root. `npm test`
 * runs it too (it is a `*.priv.test.ts`); this config is for iterating on the data plane. Everything else is the main
 * config's: the global setup (scratch TMPDIR, sweep of dead workers' namespaces,
 * real-host diff) and the setup files (loopback-only guard, throwaway host namespace for privileged files).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import base from '../../vitest.config.js';

export default defineConfig({
  ...base,
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    ...base.test,
    include: ['test/fabric/**/*.priv.test.ts'],
    // One fabric at a time: it is two daemons, a router and a dozen namespaces on a shared machine.
    fileParallelism: false,
  },
});
