/**
 * @module bundle entry
 * What esbuild bundles into dist/cni/vpc-ipam.cjs and the single executable.
 * When the SEA is built with a start-up snapshot, this script runs at build
 * time: it warms the verbs' code up with fakes (./warm-up.ts) and registers
 * the real main; nothing environment-dependent (process.env, stdin) may be
 * touched before `runCli` is called.
 */

import * as v8 from 'node:v8';
import { runCli } from './main.js';
import { warmUp } from './warm-up.js';

function start(): void {
  runCli().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`vpc-ipam: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}

const snap = (
  v8 as { startupSnapshot?: { isBuildingSnapshot(): boolean; setDeserializeMainFunction(fn: () => void): void } }
).startupSnapshot;
if (snap?.isBuildingSnapshot()) {
  snap.setDeserializeMainFunction(start);
  void warmUp();
} else start();
