/**
 * `vpc-ipamctl checkpoint verify|repair`, in-process with stdout captured:
 * verify's exit codes and listing, and repair's reviewed copy (new file next
 * to the original, original untouched, every drop and change printed, no
 * Pod dropped silently, the operator's --keep honoured).
 */
import { parseCtlSettings } from '../../ipamd/config/ctl.js';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../ipamd/ctl/command.js';
import { checkpointCommand } from '../../ipamd/ctl/commands/checkpoint.js';
import { CHECKPOINT_VERSION, JsonFileCheckpointer } from '../../ipamd/datastore/checkpoint.js';
import { planRepair } from '../../ipamd/datastore/checkpoint-repair.js';

afterEach(() => vi.restoreAllMocks());

const entry = (i: number, over: Record<string, unknown> = {}) => ({
  network: 'vpc-ipam',
  containerId: `c${i}`,
  ifName: 'eth0',
  ip: `10.0.0.${i}`,
  interfaceId: 'eni-0',
  blockCidr: `10.0.0.${i}/32`,
  pod: { namespace: 'default', name: `p${i}` },
  assignedAt: 1000 + i,
  ...over,
});
const cp = (assignments: unknown[], cooling: unknown[] = []) => ({ version: CHECKPOINT_VERSION, assignments, cooling });

function stateDir(data: unknown): { dir: string; file: string; original: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'cpctl-'));
  const file = path.join(dir, 'ipam.json');
  const original = JSON.stringify(data);
  writeFileSync(file, original);
  return { dir, file, original };
}

async function ctl(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string }> {
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    return { code: await checkpointCommand.run(args, parseCtlSettings(env)), out };
  } finally {
    vi.restoreAllMocks();
  }
}

const broken = cp(
  [
    entry(1),
    entry(2, { ip: '10.0.0.1', blockCidr: '10.0.0.1/32' }), // second holder of 10.0.0.1
    entry(3, { ip: 'banana' }),
    entry(4, { containerId: '../../etc' }),
    entry(5),
    entry(5), // exact repeat
    entry(6, { pod: 'x', blockCidr: 'nope' }), // bookkeeping only
    entry(7, { containerId: 'c5' }), // c5 again, another address
  ],
  [
    { ip: '10.0.0.1', until: 9e15 },
    { ip: '10.0.0.9', until: 5 },
    { ip: '10.0.0.9', until: 7 },
  ],
);

describe('checkpoint verify', () => {
  it('exits 0 on a consistent file', async () => {
    const { file } = stateDir(cp([entry(1)]));
    expect(await ctl(['verify', '--file', file])).toEqual({ code: 0, out: `${file}: consistent\n` });
  });

  it('exits 1 and lists every problem with its entry', async () => {
    const { dir, file } = stateDir(broken);
    const r = await ctl(['verify', '--state-dir', dir]);
    expect(r.code).toBe(1);
    for (const want of [
      'assignments[1] vpc-ipam/c2/eth0 "10.0.0.1": 10.0.0.1 is already held by assignments[0]',
      'assignments[2] vpc-ipam/c3/eth0 "banana": ip "banana" is not an IPv4 address',
      'assignments[3] vpc-ipam/../../etc/eth0',
      'assignments[5] vpc-ipam/c5/eth0 "10.0.0.5": repeats assignments[0]'.replace('[0]', '[4]'),
      'assignments[6]',
      'assignments[7] vpc-ipam/c5/eth0 "10.0.0.7": the attachment already holds 10.0.0.5 in assignments[4]',
      'cooling[0] "10.0.0.1": 10.0.0.1 is cooling and assigned at once',
      'cooling[2] "10.0.0.9": 10.0.0.9 repeats cooling[1]',
    ]) {
      expect(r.out).toContain(want);
    }
    const json = await ctl(['verify', '--file', file, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toMatchObject({ file, consistent: false });
  });

  it('reads VPC_IPAM_STATE_DIR, and is a usage error without a subcommand', async () => {
    const { dir } = stateDir(cp([]));
    expect((await ctl(['verify'], { VPC_IPAM_STATE_DIR: dir })).code).toBe(0);
    await expect(ctl([], {})).rejects.toBeInstanceOf(UsageError);
    await expect(ctl(['verify', '--keep', '1'], {})).rejects.toBeInstanceOf(UsageError);
  });
});

describe('checkpoint repair', () => {
  it('writes a consistent copy beside the original, never touching it, and prints every drop and change', async () => {
    const { dir, file, original } = stateDir(broken);
    const r = await ctl(['repair', '--file', file]);
    expect(r.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(original);
    const copies = readdirSync(dir).filter((n) => n.startsWith('ipam.json.repaired-'));
    expect(copies).toHaveLength(1);
    const out = path.join(dir, copies[0]!);
    expect(r.out).toContain(`written to ${out}`);

    // The copy is what ipamd accepts.
    const repaired = (await new JsonFileCheckpointer(out).load())!;
    expect(repaired.assignments.map((a) => a.containerId)).toEqual(['c1', 'c5', 'c6']);
    const c6 = repaired.assignments.find((a) => a.containerId === 'c6');
    expect(c6).toMatchObject({ blockCidr: '10.0.0.6/32', pod: {} });

    for (const want of [
      'DROPPED assignments[1] vpc-ipam/c2/eth0 "10.0.0.1": 10.0.0.1 is also held by assignments[0]',
      'or repair again with --keep 1',
      'DROPPED assignments[2] vpc-ipam/c3/eth0 "banana": invalid: ip "banana"',
      'DROPPED assignments[3] vpc-ipam/../../etc/eth0',
      'DROPPED assignments[5] vpc-ipam/c5/eth0 "10.0.0.5": exact repeat of assignments[4]',
      'CHANGED assignments[6] vpc-ipam/c6/eth0 "10.0.0.6": blockCidr "nope" is not an IPv4 CIDR: set to 10.0.0.6/32',
      'CHANGED assignments[6] vpc-ipam/c6/eth0 "10.0.0.6": pod "x"',
      'DROPPED assignments[7] vpc-ipam/c5/eth0 "10.0.0.7": the same attachment holds 10.0.0.5 in assignments[4]',
      'DROPPED cooling[0] "10.0.0.1": 10.0.0.1 is assigned to assignments[0], which keeps it',
      'QUARANTINED 10.0.0.7 as cooling',
      'QUARANTINED 10.0.0.4 as cooling',
      'The original is unchanged',
    ]) {
      expect(r.out).toContain(want);
    }
    // Every entry of the original is either in the copy or named in the report.
    for (let i = 0; i < broken.assignments.length; i++) {
      const kept = repaired.assignments.some((a) => JSON.stringify(a) === JSON.stringify(broken.assignments[i]));
      expect(kept || r.out.includes(`assignments[${i}] `), `assignments[${i}]`).toBe(true);
    }
    // A dropped holder's address stays out of circulation; the kept holder's is not cooling.
    const cooling = new Map(repaired.cooling.map((c) => [c.ip, c.until]));
    expect(cooling.get('10.0.0.7')).toBeGreaterThan(Date.now() + 3_000_000);
    expect(cooling.has('10.0.0.1')).toBe(false);
    expect(cooling.get('10.0.0.9')).toBe(7);

    // A second run never overwrites the first copy.
    await expect(ctl(['repair', '--file', file, '--out', out])).rejects.toThrow(/exists; not overwriting/);
    await expect(ctl(['repair', '--file', file, '--out', file])).rejects.toThrow(/must not be the checkpoint itself/);
  });

  it('lets the operator keep another holder of a shared address', async () => {
    const { dir, file } = stateDir(broken);
    const out = path.join(dir, 'reviewed.json');
    const r = await ctl(['repair', '--file', file, '--out', out, '--keep', '1', '--keep', '7', '--quarantine', '0']);
    expect(r.code).toBe(0);
    type Copy = { assignments: Array<{ containerId: string; ip: string }> };
    const repaired = JSON.parse(readFileSync(out, 'utf8')) as Copy;
    const held = repaired.assignments.map((a) => `${a.containerId}=${a.ip}`);
    expect(held).toEqual(['c2=10.0.0.1', 'c6=10.0.0.6', 'c5=10.0.0.7']);
    expect(r.out).toContain(
      'DROPPED assignments[0] vpc-ipam/c1/eth0 "10.0.0.1": ' + '10.0.0.1 is also held by assignments[1]',
    );
    expect(r.out).not.toContain('QUARANTINED');
    const again = (out: string, ...keep: string[]) =>
      ctl(['repair', '--file', file, '--out', path.join(dir, out), ...keep]);
    await expect(again('x.json', '--keep', '4', '--keep', '7')).rejects.toThrow(
      /cannot keep both assignments\[4\] and assignments\[7\]/,
    );
    await expect(again('y.json', '--keep', '2')).rejects.toThrow(/no such usable entry/);
  });

  it('writes nothing for a consistent file, and refuses a file it cannot trust', async () => {
    const { dir, file } = stateDir(cp([entry(1)]));
    expect((await ctl(['repair', '--file', file])).out).toContain('nothing to repair');
    expect(readdirSync(dir)).toEqual(['ipam.json']);
    writeFileSync(file, JSON.stringify({ version: 'other/1', assignments: [] }));
    await expect(ctl(['repair', '--file', file])).rejects.toThrow(/cannot repair/);
    expect(existsSync(path.join(dir, 'ipam.json'))).toBe(true);
  });

  it('plans without I/O: an entry dropped for a clash keeps no address of a kept holder in cooling', () => {
    const plan = planRepair(cp([entry(1), entry(2, { ip: '10.0.0.1' })]), { now: 0 });
    expect(plan.repaired.assignments).toHaveLength(1);
    expect(plan.quarantined).toEqual([]);
    expect(plan.actions).toEqual([expect.objectContaining({ index: 1, action: 'dropped', holderLost: true })]);
  });
});
