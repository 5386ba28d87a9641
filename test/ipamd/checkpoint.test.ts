import { mkdtempSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_VERSION, JsonFileCheckpointer } from '../../ipamd/datastore/checkpoint.js';

const entry = (i: number) => ({
  network: 'n',
  containerId: `c${i}`,
  ifName: 'eth0',
  ip: `10.0.0.${i}`,
  interfaceId: 'eni-0',
  blockCidr: `10.0.0.${i}/32`,
  pod: {},
  assignedAt: i,
});

describe('JsonFileCheckpointer', () => {
  it('returns undefined for a fresh node and round-trips state with mode 0600', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'cp-')), 'state', 'ipam.json');
    const cp = new JsonFileCheckpointer(file);
    expect(await cp.load()).toBeUndefined();
    await cp.save(() => ({
      version: CHECKPOINT_VERSION,
      assignments: [entry(1)],
      cooling: [{ ip: '10.0.0.2', until: 5 }],
    }));
    expect((await cp.load())!.assignments[0]!.ip).toBe('10.0.0.1');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('group-commits concurrent saves and the file always holds the latest state', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'cp-')), 'ipam.json');
    const cp = new JsonFileCheckpointer(file);
    const state: ReturnType<typeof entry>[] = [];
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        state.push(entry(i));
        const snapshot = [...state];
        return cp.save(() => ({ version: CHECKPOINT_VERSION, assignments: snapshot, cooling: [] }));
      }),
    );
    expect(JSON.parse(readFileSync(file, 'utf8')).assignments).toHaveLength(50);
  });

  it('refuses a checkpoint of another version or a corrupt one, naming the file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cp-'));
    const file = path.join(dir, 'ipam.json');
    writeFileSync(file, JSON.stringify({ version: 'vpc-cni-ipam/1', allocations: [] }));
    await expect(new JsonFileCheckpointer(file).load()).rejects.toMatchObject({
      code: 'CHECKPOINT_FAILED',
      message: expect.stringContaining(file),
    });
    writeFileSync(file, '{"version":');
    await expect(new JsonFileCheckpointer(file).load()).rejects.toMatchObject({ code: 'CHECKPOINT_FAILED' });
  });

  it('a failed write rejects (the caller rolls back) and leaves the previous file intact', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cp-'));
    const file = path.join(dir, 'ipam.json');
    const cp = new JsonFileCheckpointer(file);
    await cp.save(() => ({ version: CHECKPOINT_VERSION, assignments: [entry(1)], cooling: [] }));
    const bad = new JsonFileCheckpointer(path.join(file, 'not-a-dir', 'x.json'));
    await expect(bad.save(() => ({ version: CHECKPOINT_VERSION, assignments: [], cooling: [] }))).rejects.toMatchObject(
      { code: 'CHECKPOINT_FAILED' },
    );
    expect(JSON.parse(readFileSync(file, 'utf8')).assignments).toHaveLength(1);
  });
});
