import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../ipamd/util/clock.js';
import { SimCloud } from '../../../providers/sim/cloud.js';
import { loadSimCloud, openSimCloud, saveSimCloud } from '../../../providers/sim/persist.js';
import { SimProvider } from '../../../providers/sim/sim-provider.js';
import { drive, POD_TAG, syncFailure } from './helpers.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sim-cloud-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('saveSimCloud / loadSimCloud', () => {
  it('round-trips through a file and leaves no temp file behind', () => {
    const cloud = new SimCloud({ seed: 5 });
    cloud.seedNode({ instanceType: 'm5.large', subnetCidr: '10.0.1.0/24', podSubnetCidr: '10.0.2.0/24' });
    const path = join(dir, 'cloud.json');
    saveSimCloud(cloud, path);
    expect(readdirSync(dir)).toEqual(['cloud.json']);
    expect(loadSimCloud(path)!.toJSON()).toEqual(cloud.toJSON());
  });

  it('returns undefined for a missing file and CHECKPOINT_FAILED for a corrupt one', () => {
    expect(loadSimCloud(join(dir, 'none.json'))).toBeUndefined();
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"version":1,');
    expect(syncFailure(() => loadSimCloud(bad)).code).toBe('CHECKPOINT_FAILED');
  });

  it('fails with CHECKPOINT_FAILED when the directory does not exist', () => {
    expect(syncFailure(() => saveSimCloud(new SimCloud(), join(dir, 'no', 'such', 'dir.json'))).code).toBe(
      'CHECKPOINT_FAILED',
    );
  });

  it('openSimCloud initialises once, then reloads', () => {
    const path = join(dir, 'cloud.json');
    let inits = 0;
    const init = () => {
      inits++;
      const c = new SimCloud();
      c.seedNode({ instanceType: 't3.medium', subnetCidr: '10.0.1.0/24' });
      return c;
    };
    const a = openSimCloud(path, init);
    const b = openSimCloud(path, init);
    expect(inits).toBe(1);
    expect(b.toJSON()).toEqual(a.toJSON());
  });
});

describe('a daemon restart over a persisted sim cloud', () => {
  it('finds its interfaces again, and the cloud keeps choosing as if never restarted', async () => {
    const path = join(dir, 'cloud.json');
    const clock = new VirtualClock();
    const cloud = new SimCloud({ seed: 8, clock });
    const instanceId = cloud.seedNode({
      instanceType: 'm5.large',
      subnetCidr: '10.0.1.0/24',
      podSubnetCidr: '10.0.2.0/24',
    });
    saveSimCloud(cloud, path);
    const podSubnetId = cloud.describeSubnets({ tags: POD_TAG })[0]!.id;
    // The daemon saves after every mutation.
    const first = new SimProvider({ cloud, instanceId, clock, onMutate: () => saveSimCloud(cloud, path) });
    const nic = await drive(clock, first.createInterface({ subnetId: podSubnetId, initial: { kind: 'ip', count: 2 } }));
    const inv = await drive(clock, first.describeNode());

    // "Restart": a new provider over the cloud loaded from disk.
    const reloaded = loadSimCloud(path, { clock })!;
    const second = new SimProvider({ cloud: reloaded, instanceId, clock });
    expect(await drive(clock, second.describeNode())).toEqual(inv);
    // Both clouds continue with the same PRNG state.
    const a = await drive(clock, first.assignAddresses(nic.id, { kind: 'ip', count: 3 }));
    const b = await drive(clock, second.assignAddresses(nic.id, { kind: 'ip', count: 3 }));
    expect(b).toEqual(a);
    expect(JSON.parse(readFileSync(path, 'utf8')).interfaces).toHaveLength(2);
  });
});
