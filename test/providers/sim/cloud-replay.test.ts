import { describe, expect, it } from 'vitest';
import { SimCloud } from '../../../providers/sim/cloud.js';
import { POD_TAG, syncFailure } from './helpers.js';

describe('determinism', () => {
  const script = (seed: number) => {
    const cloud = new SimCloud({ seed });
    const id = cloud.seedNode({ instanceType: 'm5.xlarge', subnetCidr: '10.0.1.0/24', podSubnetCidr: '10.0.2.0/24' });
    const pod = cloud.describeSubnets({ tags: POD_TAG })[0]!;
    const nic = cloud.createInterface({ subnetId: pod.id, secondaryIps: { count: 4 } });
    cloud.attachInterface(nic.id, id);
    cloud.assignPrefixes(nic.id, { count: 3 });
    cloud.unassignPrivateIps(nic.id, cloud.getInterface(nic.id).privateIps.slice(0, 2));
    cloud.assignPrivateIps(nic.id, { count: 5 });
    return cloud.toJSON();
  };

  it('same seed → same addresses, ids and state', () => {
    expect(script(1234)).toEqual(script(1234));
  });

  it('another seed → other addresses', () => {
    expect(script(1234).interfaces).not.toEqual(script(4321).interfaces);
  });
});

describe('JSON round trip', () => {
  it('restores the same state and continues the same address sequence', () => {
    const cloud = new SimCloud({ seed: 77 });
    const id = cloud.seedNode({ instanceType: 'c5.4xlarge', subnetCidr: '10.0.1.0/24', podSubnetCidr: '10.0.2.0/24' });
    const pod = cloud.describeSubnets({ tags: POD_TAG })[0]!;
    cloud.reserveCidr(pod.id, '10.0.2.128/27', { type: 'prefix' });
    cloud.reserveCidr(pod.id, '10.0.2.64/29');
    cloud.defineInstanceType({
      instanceType: 'sim.x',
      maxInterfaces: 2,
      ipv4PerInterface: 4,
      supportsIps: true,
      supportsPrefixes: true,
      prefixLength: 28,
      canCreateInterfaces: true,
    });
    const nic = cloud.createInterface({
      subnetId: pod.id,
      tags: { a: 'b' },
      secondaryIps: { count: 3 },
      prefixes: { count: 1 },
    });
    cloud.attachInterface(nic.id, id);

    const copy = SimCloud.fromJSON(JSON.parse(JSON.stringify(cloud)));
    expect(copy.toJSON()).toEqual(cloud.toJSON());
    expect(copy.getSubnet(pod.id)).toEqual(cloud.getSubnet(pod.id));
    expect(copy.freePrefixBlocks(pod.id)).toBe(cloud.freePrefixBlocks(pod.id));
    // Same PRNG state: both pick the same next addresses.
    expect(copy.assignPrivateIps(nic.id, { count: 5 })).toEqual(cloud.assignPrivateIps(nic.id, { count: 5 }));
    expect(copy.assignPrefixes(nic.id, { count: 2 })).toEqual(cloud.assignPrefixes(nic.id, { count: 2 }));
  });

  it.each([
    ['not an object', 42],
    ['wrong version', { version: 2 }],
    ['missing list', { ...new SimCloud().toJSON(), interfaces: undefined }],
  ])('rejects %s with CHECKPOINT_FAILED', (_what, state) => {
    expect(syncFailure(() => SimCloud.fromJSON(state)).code).toBe('CHECKPOINT_FAILED');
  });

  it('rejects a state where two interfaces hold the same address', () => {
    const cloud = new SimCloud();
    const id = cloud.seedNode({ instanceType: 'm5.large', subnetCidr: '10.0.1.0/24' });
    const { subnetId, primaryInterfaceId } = cloud.getInstance(id);
    cloud.createInterface({ subnetId });
    const state = cloud.toJSON();
    const primaryIp = state.interfaces.find((n) => n.id === primaryInterfaceId)!.primaryIp;
    state.interfaces.find((n) => n.id !== primaryInterfaceId)!.privateIps = [primaryIp];
    expect(syncFailure(() => SimCloud.fromJSON(state)).code).toBe('CHECKPOINT_FAILED');
  });
});
