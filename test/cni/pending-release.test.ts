import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DelRequest } from '../../cni/contract/protocol.js';
import {
  pendingReleaseDir,
  pendingReleasePath,
  readPendingReleases,
  removePendingRelease,
  writePendingRelease,
} from '../../cni/contract/pending-release.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vpc-cni-pending-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const req = (containerId: string, extra: Partial<DelRequest> = {}): DelRequest => ({
  v: 1,
  op: 'del',
  network: 'vpc-net',
  containerId,
  ifName: 'eth0',
  ...extra,
});

describe('pending releases', () => {
  it('lives next to the socket', () => {
    expect(pendingReleaseDir('/run/vpc-ipam/ipamd.sock')).toBe('/run/vpc-ipam/pending-release');
  });
  it('names files <network>__<containerId>__<ifName>.json', () => {
    expect(pendingReleasePath('/d', req('abc'))).toBe('/d/vpc-net__abc__eth0.json');
  });
  it('disambiguates names that contain the separator, and long names', () => {
    const a = pendingReleasePath('/d', { network: 'a', containerId: 'b__c', ifName: 'eth0' });
    const b = pendingReleasePath('/d', { network: 'a__b', containerId: 'c', ifName: 'eth0' });
    expect(a).not.toBe(b);
    expect(
      path.basename(pendingReleasePath('/d', { network: 'n', containerId: 'x'.repeat(1000), ifName: 'eth0' })).length,
    ).toBeLessThan(255);
  });
  it('refuses unsafe key parts', () => {
    expect(() => pendingReleasePath('/d', { network: 'n', containerId: '..', ifName: 'eth0' })).toThrow();
    expect(() => pendingReleasePath('/d', { network: 'n', containerId: 'a/b', ifName: 'eth0' })).toThrow();
  });
  it('writes atomically and reads back, skipping temp and invalid files', async () => {
    const dir = path.join(tmp, 'pending-release');
    const f1 = writePendingRelease(dir, req('c1', { netns: { path: '/var/run/netns/p' } }));
    writePendingRelease(dir, req('c2'));
    expect((fs.statSync(dir).mode & 0o777).toString(8)).toBe('700');
    expect((fs.statSync(f1).mode & 0o777).toString(8)).toBe('600');
    fs.writeFileSync(path.join(dir, 'x.json.tmp-1'), '{');
    fs.writeFileSync(path.join(dir, 'broken.json'), '{');
    fs.writeFileSync(path.join(dir, 'other.json'), JSON.stringify({ op: 'add' }));
    const scan = await readPendingReleases(dir);
    expect(scan.releases.map((r) => r.request.containerId)).toEqual(['c1', 'c2']);
    expect(scan.releases[0]!.request.netns).toEqual({ path: '/var/run/netns/p' });
    expect(scan.invalid.map((i) => path.basename(i.file)).sort()).toEqual(['broken.json', 'other.json']);
    await removePendingRelease(f1);
    await removePendingRelease(f1);
    expect((await readPendingReleases(dir)).releases).toHaveLength(1);
  });
  it('treats a missing directory as empty', async () => {
    expect(await readPendingReleases(path.join(tmp, 'nope'))).toEqual({ releases: [], invalid: [] });
  });
});
