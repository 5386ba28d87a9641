/**
 * AwsProvider over the emulator: the ENI lifecycle (tags, DeleteOnTermination,
 * IMDS wait, undo on every failure), EC2 as the authority, error mapping,
 * the DescribeInstanceTypes fallback, idempotent unassign, subnet choice.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CloudUnavailableError, ThrottledError } from '../../../providers/errors.js';
import { CAPACITY_SHORTAGE_MESSAGE } from '../../../providers/aws/emulator/context.js';
import { allowOnly } from '../../../providers/aws/emulator/iam-policy.js';
import { mapEc2Error } from '../../../providers/aws/errors.js';
import { POD_SUBNET_TAG, TAG_CLUSTER, TAG_CREATED_AT, TAG_INSTANCE_ID } from '../../../providers/aws/tags.js';
import {
  createSubnetSelector,
  staticPodSubnets,
  usableUnderCustomNetworking,
  type PodSubnetSource,
} from '../../../providers/pod-subnets.js';
import { awsNode, failure, ourInterfaces, waitOnClock, type AwsNode } from './helpers.js';

let node: AwsNode;
afterEach(async () => node?.close());

const internal = (a: string) =>
  new CloudUnavailableError({
    provider: 'aws',
    operation: a,
    cloudCode: 'InternalError',
    message: 'An internal error has occurred',
  });
const throttle = (a: string) =>
  new ThrottledError({
    provider: 'aws',
    operation: a,
    cloudCode: 'RequestLimitExceeded',
    message: 'Request limit exceeded.',
  });

/** EC2 requests that succeeded, per action. */
function succeeded(n: AwsNode): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of n.emu.requests) if (r.status === 200) out[r.action] = (out[r.action] ?? 0) + 1;
  return out;
}

describe('AwsProvider', () => {
  it('discovers the node from IMDS and describes it from EC2', async () => {
    node = await awsNode();
    const p = node.provider;
    expect(p.identity).toMatchObject({
      instanceId: node.instanceId,
      instanceType: 'm5.large',
      zone: 'us-east-1a',
      region: 'us-east-1',
      subnetCidr: '10.0.1.0/24',
      vpcCidrs: ['10.0.0.0/16'],
    });
    const inv = await p.describeNode();
    const primary = node.cloud.getInstance(node.instanceId).interfaces[0]!;
    expect(inv.interfaces).toEqual([
      {
        id: primary.id,
        deviceIndex: 0,
        mac: primary.mac,
        subnetId: node.nodeSubnetId,
        subnetCidr: '10.0.1.0/24',
        primaryIp: primary.primaryIp,
        securityGroups: primary.securityGroups,
        blocks: [],
        tags: {},
      },
    ]);
    expect(await p.getLimits('m5.large')).toMatchObject({
      maxInterfaces: 3,
      ipv4PerInterface: 10,
      supportsPrefixes: true,
    });
    expect(node.emu.counts().DescribeInstanceTypes).toBeUndefined(); // from the built-in table
  });

  it(
    'resyncs from IMDS while it is unchanged, and asks EC2 when IMDS changes or after its own mutations (no ' +
      'Describe storm)',
    async () => {
      node = await awsNode();
      const p = node.provider;
      const describes = () => node.emu.counts().DescribeNetworkInterfaces ?? 0;
      const first = await p.describeNode();
      expect(describes()).toBe(1);
      for (let i = 0; i < 5; i++) expect(await p.describeNode()).toEqual(first);
      expect(describes()).toBe(1); // five resyncs served from the unchanged IMDS view
      expect(p.stats.servedFromImds).toBe(5);
      // Someone else changes the node (IMDS shows it): EC2 is asked.
      const primary = node.cloud.getInstance(node.instanceId).interfaces[0]!;
      node.cloud.assignPrivateIps(primary.id, { count: 2 });
      await waitOnClock(
        node,
        'IMDS shows the new addresses',
        async () =>
          (await node.imds.list(`network/interfaces/macs/${primary.mac}/local-ipv4s`)).length === 3 || undefined,
      );
      expect((await p.describeNode()).interfaces[0]!.blocks).toHaveLength(2);
      expect(describes()).toBe(2);
      // Our own mutation invalidates the cached read even before IMDS shows it.
      await p.assignAddresses(primary.id, { kind: 'ip', count: 1 });
      expect((await p.describeNode()).interfaces[0]!.blocks).toHaveLength(3);
      expect(describes()).toBe(3);
    },
  );

  it(
    'creates a tagged ENI with its first addresses, attached at the next device, DeleteOnTermination set, visible ' +
      'in IMDS',
    async () => {
      node = await awsNode({ clusterName: 'prod-1', groups: ['sg-0abc'] });
      const started = node.clock.now(); // the provider stamps created-at from its clock
      const nic = await node.provider.createInterface({
        subnetId: node.podSubnetId,
        initial: { kind: 'prefix', count: 2 },
        tags: { team: 'net' },
      });
      expect(nic).toMatchObject({ deviceIndex: 1, subnetId: node.podSubnetId, subnetCidr: '10.0.2.0/24' });
      expect(nic.blocks.map((b) => b.kind)).toEqual(['prefix', 'prefix']);
      const inCloud = node.cloud.getInterface(nic.id);
      expect(inCloud.attachment).toMatchObject({
        instanceId: node.instanceId,
        deviceIndex: 1,
        deleteOnTermination: true,
      });
      expect(inCloud.tags).toMatchObject({ [TAG_INSTANCE_ID]: node.instanceId, [TAG_CLUSTER]: 'prod-1', team: 'net' });
      expect(Date.parse(inCloud.tags[TAG_CREATED_AT]!)).toBeGreaterThanOrEqual(started - 1000);
      // The node's groups by default.
      expect(inCloud.securityGroups).toEqual(node.cloud.getInstance(node.instanceId).interfaces[0]!.securityGroups);
      // It returned only once IMDS listed it (IMDS lags EC2 by 1-5 s, and the attach takes 2 s).
      expect(await node.imds.list('network/interfaces/macs/')).toContain(inCloud.mac);
      expect(succeeded(node)).toMatchObject({
        DescribeInstances: 1,
        CreateNetworkInterface: 1,
        AttachNetworkInterface: 1,
        ModifyNetworkInterfaceAttribute: 1,
      });
      // Any other answer was EC2 not seeing the new ENI yet, and retried (eventual consistency).
      const refused = node.emu.requests.filter((r) => r.status !== 200).map((r) => r.code);
      expect(refused.filter((code) => code !== 'InvalidNetworkInterfaceID.NotFound')).toEqual([]);
      const second = await node.provider.createInterface({
        subnetId: node.nodeSubnetId,
        securityGroups: ['sg-0abc'],
        initial: { kind: 'ip', count: 9 },
      });
      expect(second.deviceIndex).toBe(2);
      expect(second.securityGroups).toEqual(['sg-0abc']);
      expect(second.blocks).toHaveLength(9);
      const full = await failure(node.provider.createInterface({ subnetId: node.nodeSubnetId }));
      expect(full).toMatchObject({ code: 'CLOUD_NIC_LIMIT' });
      expect(succeeded(node).CreateNetworkInterface).toBe(2); // refused before any mutating call
      expect(node.emu.counts().CreateNetworkInterface).toBe(2);
    },
  );

  it.each([
    ['attach fails', 'AttachNetworkInterface'],
    ['DeleteOnTermination fails', 'ModifyNetworkInterfaceAttribute'],
  ])('leaves no ENI behind when %s (and its undo is throttled once)', async (_why, action) => {
    node = await awsNode();
    node.emu.faults.failNext(action, 2, internal); // both SDK attempts
    node.emu.faults.failNext('DeleteNetworkInterface', 2, throttle);
    const f = await failure(
      node.provider.createInterface({ subnetId: node.podSubnetId, initial: { kind: 'ip', count: 3 } }),
    );
    expect(f).toMatchObject({ code: 'CLOUD_UNAVAILABLE', cloudCode: 'InternalError' });
    expect(ourInterfaces(node.cloud)).toEqual([]);
    expect(node.cloud.describeSubnets({ ids: [node.podSubnetId] })[0]!.availableAddresses).toBe(251);
    expect(node.emu.requests.filter((r) => r.action === 'DeleteNetworkInterface' && r.status === 200)).toHaveLength(1);
  });

  it('undoes an ENI that never shows up in IMDS', async () => {
    node = await awsNode({ attachWaitMs: 400 });
    node.emu.imds.pin(node.emu.imds.currentView()); // IMDS stuck before the attach
    const f = await failure(
      node.provider.createInterface({ subnetId: node.podSubnetId, initial: { kind: 'ip', count: 1 } }),
    );
    expect(f).toMatchObject({ code: 'CLOUD_UNAVAILABLE', cloudCode: 'ImdsAttachTimeout' });
    expect(ourInterfaces(node.cloud)).toEqual([]);
    expect(node.emu.counts()).toMatchObject({ DetachNetworkInterface: 1, DeleteNetworkInterface: 1 });
  });

  it('maps every EC2 failure to its typed error once', async () => {
    node = await awsNode({ maxAttempts: 1 });
    const p = node.provider;
    for (let b = 16; b < 240; b += 16) node.cloud.reserveCidr(node.podSubnetId, `10.0.2.${b + 3}/32`);
    const nic = await p.createInterface({ subnetId: node.podSubnetId, initial: { kind: 'ip', count: 1 } });
    expect(await failure(p.assignAddresses(nic.id, { kind: 'prefix', count: 1 }))).toMatchObject({
      code: 'CLOUD_NO_PREFIX_BLOCK',
      cloudCode: 'InsufficientCidrBlocks',
    });
    node.emu.setCapacityWording('generic');
    expect(await failure(p.assignAddresses(nic.id, { kind: 'prefix', count: 1 }))).toMatchObject({
      code: 'CLOUD_NO_PREFIX_BLOCK',
      cloudCode: 'InvalidParameterValue',
    });
    expect(await failure(p.assignAddresses(nic.id, { kind: 'ip', count: 9 }))).toMatchObject({
      code: 'CLOUD_IP_LIMIT',
      cloudCode: 'PrivateIpAddressLimitExceeded',
    });
    expect(await failure(p.assignAddresses('eni-000000000000dead0', { kind: 'ip', count: 1 }))).toMatchObject({
      code: 'CLOUD_NOT_FOUND',
      cloudCode: 'InvalidNetworkInterfaceID.NotFound',
    });
    node.cloud.occupyRandom(node.podSubnetId, node.cloud.getSubnet(node.podSubnetId).availableAddresses);
    // The generic wording for a /32 request is a full subnet, not a missing prefix block.
    const fullIp = { code: 'CLOUD_SUBNET_FULL', cloudCode: 'InvalidParameterValue' };
    expect(await failure(p.assignAddresses(nic.id, { kind: 'ip', count: 1 }))).toMatchObject(fullIp);
    node.emu.setCapacityWording('specific');
    const specific = { code: 'CLOUD_SUBNET_FULL', cloudCode: 'InsufficientFreeAddressesInSubnet' };
    expect(await failure(p.assignAddresses(nic.id, { kind: 'ip', count: 1 }))).toMatchObject(specific);
    node.emu.setIamPolicy(allowOnly(['DescribeNetworkInterfaces']));
    expect(await failure(p.listSubnets())).toMatchObject({
      code: 'CLOUD_UNAUTHORIZED',
      cloudCode: 'UnauthorizedOperation',
    });
    node.emu.setIamPolicy(undefined);
    node.emu.faults.failNext('DescribeSubnets', 1, throttle);
    expect(await failure(p.listSubnets())).toMatchObject({
      code: 'CLOUD_THROTTLED',
      cloudCode: 'RequestLimitExceeded',
      retryable: true,
    });
    await node.emu.close();
    expect(await failure(p.listSubnets())).toMatchObject({ code: 'CLOUD_UNAVAILABLE', retryable: true });
    // Plain SDK-shaped objects too (the one place that reads them).
    const noRoom = { name: 'InvalidParameterValue', message: CAPACITY_SHORTAGE_MESSAGE };
    expect(mapEc2Error(noRoom, 'x', { addresses: 'prefix' }).code).toBe('CLOUD_NO_PREFIX_BLOCK');
    expect(mapEc2Error(noRoom, 'x', { addresses: 'ip' }).code).toBe('CLOUD_SUBNET_FULL');
    expect(mapEc2Error(noRoom, 'x').code).toBe('CLOUD_SUBNET_FULL');
    const inUse = { name: 'InvalidParameterValue', message: "Network interface 'eni-0abc' is currently in use." };
    expect(mapEc2Error(inUse, 'DeleteNetworkInterface')).toMatchObject({ code: 'CLOUD_CONFLICT', retryable: true });
    expect(mapEc2Error({ name: 'InvalidParameterValue', message: 'bad filter' }, 'x').code).toBe('CLOUD_INVALID');
    expect(mapEc2Error({ name: 'InvalidNetworkInterface.InUse', message: 'in use' }, 'x')).toMatchObject({
      code: 'CLOUD_CONFLICT',
      retryable: true,
    });
  });

  it('looks up types missing from the table with one DescribeInstanceTypes, then caches them', async () => {
    node = await awsNode();
    node.cloud.defineInstanceType({
      instanceType: 'z9.tiny',
      maxInterfaces: 2,
      ipv4PerInterface: 4,
      supportsIps: true,
      supportsPrefixes: true,
      prefixLength: 28,
      canCreateInterfaces: true,
    });
    const want = { instanceType: 'z9.tiny', maxInterfaces: 2, ipv4PerInterface: 4, supportsPrefixes: true };
    expect(await node.provider.getLimits('z9.tiny')).toMatchObject(want);
    expect(await node.provider.getLimits('z9.tiny')).toMatchObject(want);
    expect(node.emu.counts().DescribeInstanceTypes).toBe(1);
    expect(await failure(node.provider.getLimits('q1.none'))).toMatchObject({
      code: 'CLOUD_INVALID',
      cloudCode: 'InvalidInstanceType',
    });
  });

  it('unassigns idempotently and deletes by detach + delete, not-found being success', async () => {
    node = await awsNode();
    const p = node.provider;
    const nic = await p.createInterface({ subnetId: node.podSubnetId, initial: { kind: 'ip', count: 4 } });
    const [a, b] = nic.blocks;
    node.cloud.unassignPrivateIps(nic.id, [a!.cidr.replace('/32', '')]); // someone else removed one
    await p.unassignAddresses(nic.id, [a!, b!]);
    expect(node.cloud.getInterface(nic.id).privateIps).toHaveLength(2);
    await p.unassignAddresses(nic.id, [a!, b!]); // nothing left to do
    await p.deleteInterface(nic.id);
    expect(ourInterfaces(node.cloud)).toEqual([]);
    await p.deleteInterface(nic.id);
    await p.unassignAddresses(nic.id, [b!]);
    const primary = node.cloud.getInstance(node.instanceId).interfaces[0]!.id;
    expect(await failure(p.deleteInterface(primary))).toMatchObject({
      code: 'CLOUD_INVALID',
      cloudCode: 'OperationNotPermitted',
    });
  });

  it('records IMDS lagging behind EC2 in describeNode, and trusts EC2', async () => {
    node = await awsNode();
    const nic = await node.provider.createInterface({ subnetId: node.podSubnetId, initial: { kind: 'ip', count: 2 } });
    node.emu.imds.pin({
      ...node.emu.imds.currentView(),
      interfaces: node.emu.imds.currentView().interfaces.filter((i) => i.deviceNumber === 0),
    });
    const inv = await node.provider.describeNode();
    expect(inv.interfaces.map((i) => i.id)).toContain(nic.id);
    expect(node.provider.stats.imdsBehind).toBe(1);
  });
});

describe('AWS subnet choice', () => {
  it('puts the node subnet first, then tagged Pod subnets by free addresses; never a cni=0 subnet', async () => {
    node = await awsNode();
    const vpcId = node.provider.identity.vpcId;
    const big = node.cloud.createSubnet({
      vpcId,
      cidr: '10.0.8.0/22',
      zone: 'us-east-1a',
      tags: { 'kubernetes.io/role/cni': '1' },
    });
    const excluded = node.cloud.createSubnet({
      vpcId,
      cidr: '10.0.16.0/22',
      zone: 'us-east-1a',
      tags: { 'kubernetes.io/role/cni': '0' },
    });
    const otherZone = node.cloud.createSubnet({
      vpcId,
      cidr: '10.0.20.0/24',
      zone: 'us-east-1b',
      tags: { 'kubernetes.io/role/cni': '1' },
    });
    const where = { provider: node.provider, vpcId, zone: 'us-east-1a', nodeSubnetId: node.nodeSubnetId };
    const select = createSubnetSelector({ ...where, discoveryTag: POD_SUBNET_TAG });
    const picked = (await select(undefined)).map((c) => c.subnetId);
    expect(picked).toEqual([node.nodeSubnetId, big.id, node.podSubnetId]);
    expect(picked).not.toContain(excluded.id);
    expect(picked).not.toContain(otherZone.id);
    node.cloud.createTags([node.nodeSubnetId], { 'kubernetes.io/role/cni': '0' });
    expect((await select(undefined)).map((c) => c.subnetId)).toEqual([big.id, node.podSubnetId]);
  });

  it(
    'custom networking: the config subnets in the zone, in order, full ones last; the primary hosts no ' + 'Pods',
    async () => {
      node = await awsNode();
      const vpcId = node.provider.identity.vpcId;
      const big = node.cloud.createSubnet({ vpcId, cidr: '10.0.8.0/22', zone: 'us-east-1a' });
      const full = node.cloud.createSubnet({ vpcId, cidr: '10.0.12.0/28', zone: 'us-east-1a' });
      node.cloud.occupyRandom(full.id, node.cloud.getSubnet(full.id).availableAddresses, 'other tenant');
      const far = node.cloud.createSubnet({ vpcId, cidr: '10.0.20.0/24', zone: 'us-east-1b' });
      const ids = [full.id, node.podSubnetId, far.id, big.id];
      let cfg: PodSubnetSource | undefined = staticPodSubnets('POD_SUBNET_IDS', ids, ['sg-0pods']);
      const source: PodSubnetSource = { read: async () => cfg?.read(), remedy: 'set POD_SUBNET_IDS' };
      const custom = { variable: 'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG' };
      const where = { provider: node.provider, vpcId, zone: 'us-east-1a', nodeSubnetId: node.nodeSubnetId };
      const select = createSubnetSelector({ ...where, customNetworking: custom, podSubnets: source });
      expect(await select(undefined)).toEqual([
        { subnetId: node.podSubnetId, securityGroups: ['sg-0pods'] },
        { subnetId: big.id, securityGroups: ['sg-0pods'] },
        { subnetId: full.id, securityGroups: ['sg-0pods'] },
      ]);
      cfg = undefined; // no config (yet): no interface anywhere, and the error says what to do
      const refused =
        /AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: custom networking is on, but this node has no Pod subnet config: set POD/;
      await expect(select(undefined)).rejects.toThrow(refused);
      expect(usableUnderCustomNetworking({ deviceIndex: 0 })).toBe(false);
      expect(usableUnderCustomNetworking({ deviceIndex: 1 })).toBe(true);
    },
  );
});
