/**
 * Runs once per `vitest run`, in the main vitest process (the real host's
 * namespaces; test workers never enter it).
 *
 * - One scratch directory per test run: every test (and every daemon or
 *   plugin process it starts) gets it as TMPDIR, and it is removed when the
 *   run ends, so `mkdtemp(os.tmpdir())` in tests leaves nothing behind.
 * - The throwaway namespaces of test workers that died without their afterAll
 *   (SIGKILL, abort) are deleted at start and at end (test/helpers/test-netns.ts).
 * - The real host's namespaces, links, rules, routes and mounts are recorded at
 *   start and compared at end; a difference fails the run and names what was
 *   left. An exception thrown here is only logged by vitest ("error during
 *   close") and `vitest run` still exits 0, so the failure is process.exitCode.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { diffHostState, hostState } from './helpers/host-state.js';
import { sweepTestNamespaces } from './helpers/test-netns.js';

const root = process.getuid?.() === 0;

export default function setup(): () => void {
  const dir = mkdtempSync(path.join(tmpdir(), 'vpc-ipam-test-'));
  process.env.TMPDIR = dir;
  if (root) {
    const swept = sweepTestNamespaces();
    if (swept.length) console.log(`global-setup: deleted namespaces of dead test workers: ${swept.join(', ')}`);
  }
  const before = hostState();
  return () => {
    if (process.env.VPC_IPAM_KEEP_TEST_TMP !== '1') rmSync(dir, { recursive: true, force: true });
    const problems: string[] = [];
    if (root) {
      // A dead worker's namespaces: its crash already fails the run; delete them so nothing stays.
      const dead = sweepTestNamespaces();
      if (dead.length) console.log(`global-setup: deleted namespaces of dead test workers: ${dead.join(', ')}`);
      // A live worker of this run is done (the run is over), so its afterAll should have deleted them.
      const left = sweepTestNamespaces({ alsoOurs: process.pid });
      for (const n of left) problems.push(`ip netns: left behind by a worker that is still alive (deleted now): ${n}`);
    }
    problems.push(...diffHostState(before, hostState()));
    if (problems.length) {
      const msg = `the test run changed the real host:\n  ${problems.join('\n  ')}`;
      console.error(msg);
      process.exitCode = 1;
      throw new Error(msg);
    }
  };
}
