/**
 * A checkpoint that is valid JSON but inconsistent is refused, naming each
 * entry (index, key, what is wrong), by the file checkpointer and so by the
 * daemon's start. Before: every case below was restored, and the first one
 * gave one address two holders.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CHECKPOINT_VERSION,
  JsonFileCheckpointer,
  MemoryCheckpointer,
  type CheckpointData,
} from '../../ipamd/datastore/checkpoint.js';
import { inspectCheckpoint } from '../../ipamd/datastore/checkpoint-verify.js';
import { drive, virtualNode } from '../helpers/virtual-daemon.js';

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

async function loadFile(data: unknown): Promise<{ file: string; err: { code?: string; message: string } | undefined }> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'cpv-')), 'ipam.json');
  writeFileSync(file, JSON.stringify(data));
  const err = await new JsonFileCheckpointer(file).load().then(
    () => undefined,
    (e: { code?: string; message: string }) => e,
  );
  return { file, err };
}

describe('an inconsistent checkpoint is refused, naming the entry', () => {
  it.each([
    [
      'two entries with one address',
      cp([entry(5), entry(6, { ip: '10.0.0.5', blockCidr: '10.0.0.5/32' })]),
      ['assignments[1]', 'vpc-ipam/c6/eth0', '10.0.0.5 is already held by assignments[0]'],
    ],
    [
      'a duplicated key with another address',
      cp([entry(5), entry(7, { containerId: 'c5' })]),
      ['assignments[1]', 'vpc-ipam/c5/eth0', 'the attachment already holds 10.0.0.5 in assignments[0]'],
    ],
    ['an exact repeat', cp([entry(5), entry(5)]), ['assignments[1]', 'repeats assignments[0]']],
    [
      'ip "banana"',
      cp([entry(1), entry(2, { ip: 'banana' })]),
      ['assignments[1]', 'vpc-ipam/c2/eth0', 'ip "banana" is not an IPv4 address'],
    ],
    [
      'an ip with leading zeros (a second key for one address)',
      cp([entry(1, { ip: '10.0.0.01' })]),
      ['assignments[0]', '"10.0.0.01"'],
    ],
    [
      'containerId "../../etc"',
      cp([entry(3, { containerId: '../../etc' })]),
      ['assignments[0]', 'vpc-ipam/../../etc/eth0', 'containerId:', 'BAD_CHARACTER'],
    ],
    ['a bad ifName', cp([entry(3, { ifName: 'eth0/../x' })]), ['assignments[0]', 'ifName:', 'BAD_CHARACTER']],
    ['an ifName of 16 bytes', cp([entry(3, { ifName: 'x'.repeat(16) })]), ['assignments[0]', 'ifName:', 'TOO_LONG']],
    ['a bad network', cp([entry(3, { network: '' })]), ['assignments[0]', 'network:', 'EMPTY']],
    [
      'a missing containerId',
      cp([entry(3, { containerId: undefined })]),
      ['assignments[0]', 'containerId:', 'NOT_A_STRING'],
    ],
    [
      'a block that does not hold the address',
      cp([entry(3, { blockCidr: '10.0.1.0/28' })]),
      ['assignments[0]', 'does not contain 10.0.0.3'],
    ],
    ['a pod that is not an object', cp([entry(3, { pod: 'web-0' })]), ['assignments[0]', 'pod "web-0"']],
    ['an entry that is not an object', cp([entry(1), 42]), ['assignments[1] 42: not an object']],
    [
      'a cooling entry for an assigned address',
      cp([entry(4)], [{ ip: '10.0.0.4', until: 5 }]),
      ['cooling[0]', 'cooling and assigned at once (held by assignments[0])'],
    ],
    [
      'a repeated cooling entry',
      cp(
        [],
        [
          { ip: '10.0.0.4', until: 5 },
          { ip: '10.0.0.4', until: 9 },
        ],
      ),
      ['cooling[1]', 'repeats cooling[0]'],
    ],
    [
      'a cooling entry without an address',
      cp([], [{ ip: 'x', until: 5 }]),
      ['cooling[0]', 'ip "x" is not an IPv4 address'],
    ],
  ])('%s', async (_name, data, want) => {
    const { file, err } = await loadFile(data);
    expect(err?.code).toBe('CHECKPOINT_FAILED');
    expect(err!.message).toContain(file);
    expect(err!.message).toContain('refusing to start');
    for (const w of want) expect(err!.message).toContain(w);
  });

  it('lists every problem, not only the first', () => {
    const thief = entry(3, { ip: '10.0.0.1', blockCidr: '10.0.0.1/32' });
    const r = inspectCheckpoint(cp([entry(1), entry(1), entry(2, { ip: 'banana' }), thief]));
    expect(r.problems.map((p) => [p.index, p.kind])).toEqual([
      [1, 'duplicate-key'],
      [2, 'invalid'],
      [3, 'duplicate-ip'],
    ]);
  });

  it('accepts a consistent checkpoint, with the spec-valid container ID a..b', async () => {
    const { err } = await loadFile(cp([entry(1), entry(2, { containerId: 'a..b' })], [{ ip: '10.0.0.9', until: 5 }]));
    expect(err).toBeUndefined();
  });

  it('keeps the whole-file refusals', async () => {
    const foreign = await loadFile({ version: 'vpc-cni-ipam/1', allocations: [] });
    expect(foreign.err?.message).toMatch(/is not vpc-ipam\/1; refusing to guess/);
    const partial = await loadFile({ version: CHECKPOINT_VERSION, assignments: [] });
    expect(partial.err?.message).toMatch(/missing assignments or cooling list/);
  });
});

describe('the daemon', () => {
  it('refuses to start on an inconsistent checkpoint and never restores two holders', async () => {
    // Addresses of the sim node's primary interface (10.0.0.0/24), so both would have been "restored".
    const bad = cp([entry(10), entry(11, { ip: '10.0.0.10' })]) as CheckpointData;
    const n = virtualNode({}, { checkpointer: new MemoryCheckpointer(bad) });
    await expect(n).rejects.toMatchObject({
      code: 'CHECKPOINT_FAILED',
      message: expect.stringContaining('assignments[1] vpc-ipam/c11/eth0'),
    });
  });

  it('starts on the checkpoint a daemon wrote', async () => {
    const saved = new MemoryCheckpointer();
    const a = await virtualNode({}, { checkpointer: saved });
    await a.add('x1');
    await a.add('a..b');
    await drive(a.clock, a.daemon.stop());
    const b = await virtualNode({}, { checkpointer: saved });
    expect(
      b.daemon.datastore
        .list()
        .map((x) => x.containerId)
        .sort(),
    ).toEqual(['a..b', 'x1']);
    await drive(b.clock, b.daemon.stop());
  });
});
