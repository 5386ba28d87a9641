import { describe, expect, it } from 'vitest';
import { SimCloud } from '../../../providers/sim/cloud.js';
import { big, POD_TAG, syncFailure } from './helpers.js';

describe('subnet full', () => {
  it('fails with InsufficientFreeAddressesInSubnet and takes nothing on failure', () => {
    const cloud = new SimCloud();
    const id = cloud.seedNode({ instanceType: 'm5.24xlarge', subnetCidr: '10.0.1.0/28' }); // 11 usable
    const { subnetId, primaryInterfaceId } = cloud.getInstance(id);
    expect(cloud.getSubnet(subnetId).availableAddresses).toBe(10);
    expect(syncFailure(() => cloud.assignPrivateIps(primaryInterfaceId, { count: 11 }))).toEqual({
      code: 'CLOUD_SUBNET_FULL',
      cloudCode: 'InsufficientFreeAddressesInSubnet',
    });
    expect(cloud.getSubnet(subnetId).availableAddresses).toBe(10); // atomic: nothing taken
    expect(cloud.assignPrivateIps(primaryInterfaceId, { count: 10 })).toHaveLength(10);
    expect(cloud.getSubnet(subnetId).availableAddresses).toBe(0);
    expect(syncFailure(() => cloud.createInterface({ subnetId })).code).toBe('CLOUD_SUBNET_FULL');
    expect(syncFailure(() => cloud.assignPrivateIps(primaryInterfaceId, { count: 1 })).code).toBe('CLOUD_SUBNET_FULL');
  });

  it('a prefix request with fewer than 16 free addresses is subnet-full, not fragmentation', () => {
    const cloud = new SimCloud();
    // 27 usable, 26 after the primary.
    const id = cloud.seedNode({ instanceType: 'm5.24xlarge', subnetCidr: '10.0.1.0/27' });
    const { primaryInterfaceId } = cloud.getInstance(id);
    cloud.assignPrivateIps(primaryInterfaceId, { count: 14 });
    expect(syncFailure(() => cloud.assignPrefixes(primaryInterfaceId, { count: 1 })).cloudCode).toBe(
      'InsufficientFreeAddressesInSubnet',
    );
  });
});

describe('prefix alignment and fragmentation', () => {
  /** Pod subnet 10.0.2.0/24 with one address blocked in the middle of every usable /28. */
  function fragmented() {
    const cloud = new SimCloud({ seed: 5 });
    const instanceId = cloud.seedNode({
      instanceType: 'm5.24xlarge',
      subnetCidr: '10.0.1.0/24',
      podSubnetCidr: '10.0.2.0/24',
    });
    const pod = cloud.describeSubnets({ tags: POD_TAG })[0]!;
    const reservations = [];
    for (let k = 1; k <= 14; k++)
      reservations.push(cloud.reserveCidr(pod.id, `10.0.2.${16 * k + 8}/32`, { description: 'other tenant' }));
    // Primary inside block 1, which its reservation already breaks.
    const nic = cloud.createInterface({ subnetId: pod.id, primaryIp: '10.0.2.25' });
    cloud.attachInterface(nic.id, instanceId);
    return { cloud, podId: pod.id, nicId: nic.id, reservations };
  }

  it('has free addresses but no free aligned /28 → NoPrefixBlockError (InsufficientCidrBlocks)', () => {
    const { cloud, podId, nicId } = fragmented();
    expect(cloud.getSubnet(podId).availableAddresses).toBe(251 - 14 - 1); // reservations and the interface primary
    expect(cloud.freePrefixBlocks(podId)).toBe(0);
    expect(syncFailure(() => cloud.assignPrefixes(nicId, { count: 1 }))).toEqual({
      code: 'CLOUD_NO_PREFIX_BLOCK',
      cloudCode: 'InsufficientCidrBlocks',
    });
    // Single addresses still work.
    expect(cloud.assignPrivateIps(nicId, { count: 20 })).toHaveLength(20);
  });

  it('hands out exactly the blocks that become free, aligned', () => {
    const { cloud, podId, nicId, reservations } = fragmented();
    cloud.releaseReservation(reservations[3 - 1]!.id);
    cloud.releaseReservation(reservations[9 - 1]!.id);
    expect(cloud.freePrefixBlocks(podId)).toBe(2);
    expect(cloud.assignPrefixes(nicId, { count: 2 })).toEqual(['10.0.2.48/28', '10.0.2.144/28']);
    expect(cloud.getSubnet(podId).availableAddresses).toBe(251 - 12 - 1 - 32);
    expect(syncFailure(() => cloud.assignPrefixes(nicId, { count: 1 })).cloudCode).toBe('InsufficientCidrBlocks');
  });

  it('validates explicit prefixes: alignment, reserved space, addresses in use', () => {
    const cloud = new SimCloud();
    const id = cloud.seedNode({ instanceType: 'm5.large', subnetCidr: '10.0.1.0/24', podSubnetCidr: '10.0.2.0/24' });
    const pod = cloud.describeSubnets({ tags: POD_TAG })[0]!;
    const nic = cloud.createInterface({ subnetId: pod.id, primaryIp: '10.0.2.200' });
    cloud.attachInterface(nic.id, id);
    expect(syncFailure(() => cloud.assignPrefixes(nic.id, { prefixes: ['10.0.2.8/28'] })).cloudCode).toBe(
      'InvalidParameterValue',
    ); // host bits
    expect(syncFailure(() => cloud.assignPrefixes(nic.id, { prefixes: ['10.0.2.0/28'] })).cloudCode).toBe(
      'InvalidParameterValue',
    ); // holds .0-.3
    expect(syncFailure(() => cloud.assignPrefixes(nic.id, { prefixes: ['10.0.2.192/28'] })).cloudCode).toBe(
      'InvalidIPAddress.InUse',
    ); // holds .200
    expect(syncFailure(() => cloud.assignPrefixes(nic.id, { prefixes: ['10.0.2.0/27'] })).cloudCode).toBe(
      'InvalidParameterValue',
    ); // not a /28
    expect(cloud.assignPrefixes(nic.id, { prefixes: ['10.0.2.32/28'] })).toEqual(['10.0.2.32/28']);
    expect(cloud.assignPrefixes(nic.id, { prefixes: ['10.0.2.32/28'] })).toEqual([]); // already there: nothing added
    expect(syncFailure(() => cloud.assignPrivateIps(nic.id, { ips: ['10.0.2.33'] })).cloudCode).toBe(
      'InvalidIPAddress.InUse',
    );
  });

  it('takes prefixes from prefix reservations first and keeps single IPs out of them', () => {
    const cloud = new SimCloud({ seed: 9 });
    const id = cloud.seedNode({ instanceType: 'm5.24xlarge', subnetCidr: '10.0.1.0/24', podSubnetCidr: '10.0.2.0/24' });
    const pod = cloud.describeSubnets({ tags: POD_TAG })[0]!;
    cloud.reserveCidr(pod.id, '10.0.2.128/26', { type: 'prefix' });
    const nic = cloud.createInterface({ subnetId: pod.id });
    cloud.attachInterface(nic.id, id);
    const inside = (ip: string) =>
      Number(ip.split('/')[0]!.split('.')[3]) >= 128 && Number(ip.split('/')[0]!.split('.')[3]) < 192;
    expect(inside(cloud.getInterface(nic.id).primaryIp)).toBe(false);
    expect(cloud.assignPrivateIps(nic.id, { count: 40 }).filter(inside)).toEqual([]);
    expect(cloud.assignPrefixes(nic.id, { count: 4 })).toEqual([
      '10.0.2.128/28',
      '10.0.2.144/28',
      '10.0.2.160/28',
      '10.0.2.176/28',
    ]);
  });

  it('occupyRandom scatters other tenants deterministically', () => {
    const run = () => {
      const cloud = new SimCloud({ seed: 21 });
      cloud.seedNode({ instanceType: 'm5.large', subnetCidr: '10.0.1.0/24', podSubnetCidr: '10.0.2.0/24' });
      const pod = cloud.describeSubnets({ tags: POD_TAG })[0]!;
      const taken = cloud.occupyRandom(pod.id, 30).map((r) => r.cidr);
      return { taken, blocks: cloud.freePrefixBlocks(pod.id), available: cloud.getSubnet(pod.id).availableAddresses };
    };
    const a = run();
    expect(a.taken).toHaveLength(30);
    expect(a.available).toBe(221);
    expect(a.blocks).toBeLessThan(14);
    expect(run()).toEqual(a);
  });
});

describe('addresses', () => {
  it('assigns exact IPs, is idempotent for ones already held, and unassigns', () => {
    const { cloud, instanceId, subnetId } = big('m5.large');
    const primary = cloud.getInstance(instanceId).primaryInterfaceId;
    expect(cloud.assignPrivateIps(primary, { ips: ['10.0.16.10', '10.0.16.11/32'] })).toEqual([
      '10.0.16.10',
      '10.0.16.11',
    ]);
    expect(cloud.assignPrivateIps(primary, { ips: ['10.0.16.10', '10.0.16.12'] })).toEqual(['10.0.16.12']);
    expect(syncFailure(() => cloud.assignPrivateIps(primary, { ips: ['10.0.16.1'] })).cloudCode).toBe(
      'InvalidParameterValue',
    ); // reserved
    expect(syncFailure(() => cloud.assignPrivateIps(primary, { ips: ['10.9.0.1'] })).cloudCode).toBe(
      'InvalidParameterValue',
    ); // outside
    expect(syncFailure(() => cloud.unassignPrivateIps(primary, ['10.0.16.99'])).cloudCode).toBe(
      'InvalidParameterValue',
    );
    expect(
      syncFailure(() => cloud.unassignPrivateIps(primary, [cloud.getInterface(primary).primaryIp])).cloudCode,
    ).toBe('InvalidParameterValue');
    const before = cloud.getSubnet(subnetId).availableAddresses;
    cloud.unassignPrivateIps(primary, ['10.0.16.10', '10.0.16.12']);
    expect(cloud.getInterface(primary).privateIps).toEqual(['10.0.16.11']);
    expect(cloud.getSubnet(subnetId).availableAddresses).toBe(before + 2);
  });

  it('lists everything that occupies a subnet', () => {
    const cloud = new SimCloud();
    const id = cloud.seedNode({ instanceType: 'm5.large', subnetCidr: '10.0.1.0/24', podSubnetCidr: '10.0.2.0/24' });
    const pod = cloud.describeSubnets({ tags: POD_TAG })[0]!;
    const nic = cloud.createInterface({
      subnetId: pod.id,
      primaryIp: '10.0.2.50',
      secondaryIps: { ips: ['10.0.2.51'] },
      prefixes: { prefixes: ['10.0.2.64/28'] },
    });
    cloud.attachInterface(nic.id, id);
    cloud.reserveCidr(pod.id, '10.0.2.100/30');
    cloud.reserveCidr(pod.id, '10.0.2.128/26', { type: 'prefix' });
    expect(cloud.subnetAllocations(pod.id).used).toEqual([
      '10.0.2.0/32',
      '10.0.2.1/32',
      '10.0.2.2/32',
      '10.0.2.3/32',
      '10.0.2.50/32',
      '10.0.2.51/32',
      '10.0.2.64/28',
      '10.0.2.100/30',
      '10.0.2.255/32',
    ]);
    expect(cloud.subnetAllocations(pod.id).subnet.availableAddresses).toBe(251 - 2 - 16 - 4);
  });
});
