import { describe, expect, it } from 'vitest';
import { SimCloud } from '../../../providers/sim/cloud.js';
import { POD_TAG, syncFailure } from './helpers.js';

/** A cloud with a VPC, one large subnet and an instance of `type`. */
function big(type: string, seed = 11) {
  const cloud = new SimCloud({ seed });
  const instanceId = cloud.seedNode({ instanceType: type, subnetCidr: '10.0.16.0/20' });
  const subnetId = cloud.getInstance(instanceId).subnetId;
  return { cloud, instanceId, subnetId };
}

describe('seedNode', () => {
  it('builds VPC, node subnet, tagged Pod subnet and an instance with its primary at device 0', () => {
    const cloud = new SimCloud();
    const id = cloud.seedNode({
      instanceType: 't3.medium',
      subnetCidr: '10.0.1.0/24',
      podSubnetCidr: '10.0.2.0/24',
      zone: 'eu-west-1b',
    });
    const inst = cloud.getInstance(id);
    expect(inst).toMatchObject({ instanceType: 't3.medium', zone: 'eu-west-1b' });
    expect(inst.interfaces).toHaveLength(1);
    expect(inst.interfaces[0]).toMatchObject({
      id: inst.primaryInterfaceId,
      status: 'in-use',
      attachment: { deviceIndex: 0, deleteOnTermination: true },
    });
    expect(cloud.getVpc(inst.vpcId).cidrs).toEqual(['10.0.0.0/16']);
    const subnets = cloud.describeSubnets({ vpcId: inst.vpcId });
    expect(subnets.map((s) => [s.cidr, s.availableAddresses])).toEqual([
      ['10.0.1.0/24', 250], // 251 minus the primary address
      ['10.0.2.0/24', 251],
    ]);
    expect(cloud.describeSubnets({ tags: { 'kubernetes.io/role/cni': '*' } }).map((s) => s.cidr)).toEqual([
      '10.0.2.0/24',
    ]);
  });

  it('reuses the VPC and subnets for a second node', () => {
    const cloud = new SimCloud();
    const a = cloud.seedNode({ instanceType: 'm5.large', subnetCidr: '10.0.1.0/24' });
    const b = cloud.seedNode({ instanceType: 'm5.large', subnetCidr: '10.0.1.0/24' });
    expect(cloud.getInstance(a).subnetId).toBe(cloud.getInstance(b).subnetId);
    expect(cloud.describeVpcs()).toHaveLength(1);
    expect(cloud.getSubnet(cloud.getInstance(a).subnetId).availableAddresses).toBe(249);
  });

  it('rejects an instance type the sim does not know', () => {
    const cloud = new SimCloud();
    expect(syncFailure(() => cloud.seedNode({ instanceType: 'x9.nope', subnetCidr: '10.0.1.0/24' }))).toEqual({
      code: 'CLOUD_INVALID',
      cloudCode: 'InvalidInstanceType',
    });
  });
});

describe('per-type limits from the EC2 table', () => {
  it.each([
    ['t3.medium', 3, 6],
    ['m5.large', 3, 10],
    ['m5.xlarge', 4, 15],
    ['c5.4xlarge', 8, 30],
    ['m5.24xlarge', 15, 50],
  ])('%s: %i interfaces, %i IPv4 each (primary included)', (type, maxNics, perNic) => {
    const { cloud, instanceId, subnetId } = big(type);
    const nics: string[] = [];
    for (let i = 1; i < maxNics; i++) {
      const nic = cloud.createInterface({ subnetId });
      expect(cloud.attachInterface(nic.id, instanceId).deviceIndex).toBe(i);
      nics.push(nic.id);
    }
    const extra = cloud.createInterface({ subnetId });
    expect(syncFailure(() => cloud.attachInterface(extra.id, instanceId))).toEqual({
      code: 'CLOUD_NIC_LIMIT',
      cloudCode: 'AttachmentLimitExceeded',
    });
    expect(cloud.getInterface(extra.id).status).toBe('available');

    // Secondary IPs: ipv4PerInterface - 1 fit, one more does not.
    expect(cloud.assignPrivateIps(nics[0]!, { count: perNic - 1 })).toHaveLength(perNic - 1);
    expect(syncFailure(() => cloud.assignPrivateIps(nics[0]!, { count: 1 }))).toEqual({
      code: 'CLOUD_IP_LIMIT',
      cloudCode: 'PrivateIpAddressLimitExceeded',
    });
    // Prefixes take the same slots.
    expect(
      cloud.assignPrefixes(nics[1] ?? cloud.getInstance(instanceId).primaryInterfaceId, { count: perNic - 1 }),
    ).toHaveLength(perNic - 1);
  });

  it('counts secondary IPs and prefixes against one shared limit', () => {
    const { cloud, instanceId } = big('m5.large');
    const primary = cloud.getInstance(instanceId).primaryInterfaceId;
    cloud.assignPrivateIps(primary, { count: 5 });
    cloud.assignPrefixes(primary, { count: 4 }); // 1 + 5 + 4 = 10
    expect(syncFailure(() => cloud.assignPrefixes(primary, { count: 1 })).cloudCode).toBe(
      'PrivateIpAddressLimitExceeded',
    );
    expect(syncFailure(() => cloud.assignPrivateIps(primary, { count: 1 })).cloudCode).toBe(
      'PrivateIpAddressLimitExceeded',
    );
  });

  it('refuses prefixes on a Xen type and checks the limit again at attach', () => {
    const { cloud, instanceId, subnetId } = big('t2.medium');
    const primary = cloud.getInstance(instanceId).primaryInterfaceId;
    expect(syncFailure(() => cloud.assignPrefixes(primary, { count: 1 }))).toEqual({
      code: 'CLOUD_INVALID',
      cloudCode: 'InvalidParameterValue',
    });
    // t2.medium: 6 IPv4 per interface; a detached interface with 6 secondaries cannot be attached.
    const loaded = cloud.createInterface({ subnetId, secondaryIps: { count: 6 } });
    expect(syncFailure(() => cloud.attachInterface(loaded.id, instanceId)).cloudCode).toBe(
      'PrivateIpAddressLimitExceeded',
    );
  });

  it('uses types defined at run time', () => {
    const cloud = new SimCloud();
    cloud.defineInstanceType({
      instanceType: 'sim.tiny',
      maxInterfaces: 2,
      ipv4PerInterface: 3,
      supportsIps: true,
      supportsPrefixes: false,
      prefixLength: 28,
      canCreateInterfaces: true,
    });
    const id = cloud.seedNode({ instanceType: 'sim.tiny', subnetCidr: '10.0.1.0/24' });
    const primary = cloud.getInstance(id).primaryInterfaceId;
    expect(cloud.assignPrivateIps(primary, { count: 2 })).toHaveLength(2);
    expect(syncFailure(() => cloud.assignPrivateIps(primary, { count: 1 })).code).toBe('CLOUD_IP_LIMIT');
  });
});

describe('attachment rules', () => {
  it('rejects a device index in use, detaching device 0, and deleting an attached interface', () => {
    const { cloud, instanceId, subnetId } = big('m5.xlarge');
    const inst = cloud.getInstance(instanceId);
    const a = cloud.createInterface({ subnetId });
    cloud.attachInterface(a.id, instanceId, 2);
    const b = cloud.createInterface({ subnetId });
    expect(syncFailure(() => cloud.attachInterface(b.id, instanceId, 2))).toEqual({
      code: 'CLOUD_INVALID',
      cloudCode: 'InvalidParameterValue',
    });
    expect(cloud.attachInterface(b.id, instanceId).deviceIndex).toBe(1); // lowest free
    expect(syncFailure(() => cloud.attachInterface(b.id, instanceId)).cloudCode).toBe('InvalidNetworkInterface.InUse');
    expect(syncFailure(() => cloud.detachInterface(inst.primaryInterfaceId))).toEqual({
      code: 'CLOUD_INVALID',
      cloudCode: 'OperationNotPermitted',
    });
    // EC2's answer to deleting an attached ENI: the generic code, with this message (amazon-vpc-cni-k8s#1399).
    expect(() => cloud.deleteInterface(a.id)).toThrow(`Network interface '${a.id}' is currently in use.`);
    expect(syncFailure(() => cloud.deleteInterface(a.id)).cloudCode).toBe('InvalidParameterValue');
    cloud.detachInterface(a.id);
    expect(syncFailure(() => cloud.detachInterface(a.id)).cloudCode).toBe('InvalidAttachmentID.NotFound');
    const before = cloud.getSubnet(subnetId).availableAddresses;
    cloud.deleteInterface(a.id);
    expect(cloud.getSubnet(subnetId).availableAddresses).toBe(before + 1);
  });

  it.each([
    ['interface', (c: SimCloud) => c.getInterface('eni-0123'), 'InvalidNetworkInterfaceID.NotFound'],
    [
      'interface (assign)',
      (c: SimCloud) => c.assignPrivateIps('eni-0123', { count: 1 }),
      'InvalidNetworkInterfaceID.NotFound',
    ],
    [
      'interface (describe by id)',
      (c: SimCloud) => c.describeInterfaces({ ids: ['eni-0123'] }),
      'InvalidNetworkInterfaceID.NotFound',
    ],
    ['subnet', (c: SimCloud) => c.createInterface({ subnetId: 'subnet-0123' }), 'InvalidSubnetID.NotFound'],
    ['subnet (describe)', (c: SimCloud) => c.describeSubnets({ ids: ['subnet-0123'] }), 'InvalidSubnetID.NotFound'],
    ['instance', (c: SimCloud) => c.getInstance('i-0123'), 'InvalidInstanceID.NotFound'],
    [
      'vpc',
      (c: SimCloud) => c.createSubnet({ vpcId: 'vpc-0123', cidr: '10.0.0.0/24', zone: 'z' }),
      'InvalidVpcID.NotFound',
    ],
  ])('unknown %s → CLOUD_NOT_FOUND %s', (_what, fn, cloudCode) => {
    expect(syncFailure(() => fn(new SimCloud()))).toEqual({ code: 'CLOUD_NOT_FOUND', cloudCode });
  });
});

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
    const id = cloud.seedNode({ instanceType: 'm5.24xlarge', subnetCidr: '10.0.1.0/27' }); // 27 usable, 26 after primary
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

describe('describe filters', () => {
  it('filters interfaces by instance, status, subnet, tags (with wildcards) and address', () => {
    const { cloud, instanceId, subnetId } = big('m5.xlarge');
    const a = cloud.createInterface({
      subnetId,
      description: 'aws-K8S-i-1',
      tags: { 'node.k8s.amazonaws.com/instance_id': instanceId, team: 'net' },
    });
    cloud.attachInterface(a.id, instanceId);
    const b = cloud.createInterface({
      subnetId,
      description: 'other',
      tags: { 'node.k8s.amazonaws.com/instance_id': 'i-gone' },
    });
    const ids = (f: Parameters<SimCloud['describeInterfaces']>[0]) => cloud.describeInterfaces(f).map((n) => n.id);
    const primary = cloud.getInstance(instanceId).primaryInterfaceId;
    expect(ids({ instanceIds: [instanceId] })).toEqual([primary, a.id].sort());
    expect(ids({ status: ['available'] })).toEqual([b.id]);
    expect(ids({ tagKeys: ['node.k8s.amazonaws.com/instance_id'], status: ['available'] })).toEqual([b.id]);
    expect(ids({ tags: { team: 'n*' } })).toEqual([a.id]);
    expect(ids({ tags: { 'node.k8s.amazonaws.com/instance_id': 'i-*' } })).toEqual([a.id, b.id].sort());
    expect(ids({ descriptions: ['aws-K8S-*'] })).toEqual([a.id]);
    expect(ids({ privateIps: [b.primaryIp] })).toEqual([b.id]);
    expect(ids({ subnetIds: ['subnet-none'] })).toEqual([]);
  });

  it('tags resources and filters subnets on them', () => {
    const cloud = new SimCloud();
    const id = cloud.seedNode({ instanceType: 'm5.large', subnetCidr: '10.0.1.0/24' });
    const { subnetId } = cloud.getInstance(id);
    cloud.createTags([subnetId], { 'kubernetes.io/cluster/demo': 'shared' });
    expect(cloud.describeSubnets({ tags: { 'kubernetes.io/cluster/demo': '*' } }).map((s) => s.id)).toEqual([subnetId]);
    expect(cloud.describeSubnets({ tags: { 'kubernetes.io/cluster/demo': 'owned' } })).toEqual([]);
    expect(syncFailure(() => cloud.createTags(['eni-404'], { a: 'b' })).cloudCode).toBe(
      'InvalidNetworkInterfaceID.NotFound',
    );
    cloud.deleteTags([subnetId], ['kubernetes.io/cluster/demo']);
    expect(cloud.getSubnet(subnetId).tags).toEqual({ Name: 'sim-nodes' });
  });
});

describe('terminateInstance', () => {
  it('deletes delete-on-termination interfaces and leaks the others as available', () => {
    const { cloud, instanceId, subnetId } = big('m5.xlarge');
    const kept = cloud.createInterface({ subnetId, secondaryIps: { count: 3 } });
    cloud.attachInterface(kept.id, instanceId);
    const cleaned = cloud.createInterface({ subnetId });
    cloud.attachInterface(cleaned.id, instanceId);
    cloud.modifyAttachment(cleaned.id, { deleteOnTermination: true });
    const total = cloud.getSubnet(subnetId).availableAddresses;
    cloud.terminateInstance(instanceId);
    expect(cloud.describeInterfaces().map((n) => [n.id, n.status])).toEqual([[kept.id, 'available']]);
    expect(cloud.getSubnet(subnetId).availableAddresses).toBe(total + 2); // primary + cleaned
    expect(cloud.describeInstances()).toEqual([]);
  });
});

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
