/**
 * The layers import one way (issue 15; rules and their reasons in .dependency-cruiser.cjs): dependency-cruiser
 * over the real tree finds no violation beyond the known list, the known list holds nothing that is already
 * fixed (so it only shrinks), and the same rules catch each kind of forbidden import in a fixture tree.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/daemon-process.js';

const run = promisify(execFile);
const DEPCRUISE = path.join(REPO, 'node_modules/.bin/depcruise');
const CONFIG = path.join(REPO, '.dependency-cruiser.cjs');
const KNOWN = path.join(REPO, '.dependency-cruiser-known-violations.json');
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

type Violation = { from: string; to: string; rule: { name: string } };
const keyOf = (v: Violation) => `${v.rule.name}: ${v.from} -> ${v.to}`;

const scratch = mkdtempSync(path.join(tmpdir(), 'vpc-ipam-depcruise-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** One cruise of the real tree: every violation it finds, and the known list. */
async function violations(): Promise<{ found: string[]; listed: string[] }> {
  const out = path.join(scratch, 'now.json');
  const r = await depcruise(REPO, ['--output-type', 'json', '--output-to', out]);
  expect(r.code, r.out).toBe(0); // json output exits 0 whatever it finds
  const result = JSON.parse(readFileSync(out, 'utf8')) as { summary: { violations: Violation[] } };
  const listed = (JSON.parse(readFileSync(KNOWN, 'utf8')) as Violation[]).map(keyOf);
  return { found: [...new Set(result.summary.violations.map(keyOf))].sort(), listed: [...new Set(listed)].sort() };
}

describe('import boundaries', () => {
  it('the tree breaks no rule beyond the known list, and every known violation is still there', async () => {
    const { found, listed } = await violations();
    expect(found.filter((v) => !listed.includes(v)), 'new violations').toEqual([]);
    expect(listed.filter((v) => !found.includes(v)), 'fixed: remove them (npm run lint:boundaries:baseline)').toEqual([]);
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
