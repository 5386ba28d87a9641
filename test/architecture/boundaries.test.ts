/**
 * The layers import one way (issue 15; rules and their reasons in .dependency-cruiser.cjs): dependency-cruiser
 * over the real tree finds no violation, and the same rules catch each kind of forbidden import in a fixture
 * tree (so a passing run means the rules were applied, not that they match nothing).
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/daemon-process.js';

const run = promisify(execFile);
const DEPCRUISE = path.join(REPO, 'node_modules/.bin/depcruise');
const CONFIG = path.join(REPO, '.dependency-cruiser.cjs');
const LAYERS = ['providers', 'ipamd', 'cni'];

interface Outcome {
  code: number;
  out: string;
}

async function depcruise(cwd: string, args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(DEPCRUISE, [...LAYERS, '--config', CONFIG, ...args], { cwd });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('import boundaries', () => {
  it('the tree breaks no rule: no forbidden import between layers, no cycle', async () => {
    const r = await depcruise(REPO, ['--output-type', 'err']);
    expect(r.out).toContain('no dependency violations found');
    expect(r.code).toBe(0);
  });

  it('catches each kind of forbidden import (fixture tree)', async () => {
    const r = await depcruise(path.join(REPO, 'test/architecture/fixture'), ['--output-type', 'err']);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('providers-stand-alone: providers/leaks-upward.ts → ipamd/daemon-part.ts');
    expect(r.out).toContain('cni-only-contract: cni/reaches-in.ts → ipamd/daemon-part.ts');
    expect(r.out).toContain('contract-is-a-leaf: cni/contract/not-a-leaf.ts → cni/reaches-in.ts');
    expect(r.out).toMatch(/no-cycles: ipamd\/cycle-[ab]\.ts/);
  });
});
