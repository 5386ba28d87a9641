import { describe, expect, it } from 'vitest';
import { SimCloud } from '../../../providers/sim/cloud.js';
import { big, syncFailure } from './helpers.js';

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
