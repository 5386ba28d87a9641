/**
 * One scratch directory per test run: every test (and every daemon or plugin
 * process it starts) gets it as TMPDIR, and it is removed when the run ends,
 * so `mkdtemp(os.tmpdir())` in tests leaves nothing behind on the machine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(path.join(tmpdir(), 'vpc-ipam-test-'));
  process.env.TMPDIR = dir;
  return () => {
    if (process.env.VPC_IPAM_KEEP_TEST_TMP !== '1') rmSync(dir, { recursive: true, force: true });
  };
}
