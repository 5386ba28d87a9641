/**
 * The EC2 emulator keeps what CreateNetworkInterface was given, as EC2 does, driven by the real
 * `@aws-sdk/client-ec2`: the InterfaceType (and the `interface-type` filter) and the TagSpecifications
 * tags, in the Create answer, DescribeNetworkInterfaces and DescribeInstances; a type EC2 does not take is
 * refused with EC2's code and text and creates nothing; a saved cloud keeps the types.
 */
import {
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  type NetworkInterfaceCreationType,
} from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { SimCloud } from '../../../providers/sim/cloud.js';
import { awsNode, pastNotFound, seedCloud, TEST_GROUP, type AwsNode } from './helpers.js';

let node: AwsNode | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

const TAGS = [
  { Key: 'node.k8s.amazonaws.com/no_manage', Value: 'true' },
  { Key: 'team', Value: '' },
];

async function create(n: AwsNode, type?: string) {
  const input = {
    SubnetId: n.podSubnetId,
    Groups: [TEST_GROUP],
    TagSpecifications: [{ ResourceType: 'network-interface' as const, Tags: TAGS }],
    // A string, not the SDK's union: the refused values are the point of one test.
    ...(type !== undefined ? { InterfaceType: type as NetworkInterfaceCreationType } : {}),
  };
  return (await n.ec2.send(new CreateNetworkInterfaceCommand(input))).NetworkInterface!;
}

describe('CreateNetworkInterface InterfaceType and create-time tags', () => {
  it.each(['trunk', 'efa', 'efa-only', 'branch'])('stores and returns %s with the tags everywhere', async (type) => {
    node = await awsNode();
    const n = node;
    const created = await create(n, type);
    expect(created).toMatchObject({ InterfaceType: type, TagSet: TAGS });
    const id = created.NetworkInterfaceId!;
    // Named by id right after its create: EC2 may not see it yet (eventual consistency), so retried.
    const describe = () => n.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] }));
    const [described] = (await pastNotFound(n, describe)).NetworkInterfaces!;
    expect(described).toMatchObject({ InterfaceType: type, TagSet: TAGS });
    const attach = { NetworkInterfaceId: id, InstanceId: n.instanceId, DeviceIndex: 1 };
    await pastNotFound(n, () => n.ec2.send(new AttachNetworkInterfaceCommand(attach)));
    const out = await n.ec2.send(new DescribeInstancesCommand({ InstanceIds: [n.instanceId] }));
    const nics = out.Reservations![0]!.Instances![0]!.NetworkInterfaces!;
    expect(nics.map((x) => [x.NetworkInterfaceId, x.InterfaceType])).toEqual(
      expect.arrayContaining([
        [id, type],
        [n.cloud.getInstance(n.instanceId).interfaces[0]!.id, 'interface'],
      ]),
    );
  });

  it('without InterfaceType it is `interface`; the interface-type filter selects by type', async () => {
    node = await awsNode();
    const n = node;
    const plain = await create(n);
    expect(plain).toMatchObject({ InterfaceType: 'interface', TagSet: TAGS });
    const trunk = (await create(n, 'trunk')).NetworkInterfaceId!;
    const byType = async (...Values: string[]) => {
      const Filters = [{ Name: 'interface-type', Values }];
      const out = await n.ec2.send(new DescribeNetworkInterfacesCommand({ Filters }));
      return out.NetworkInterfaces!.map((x) => x.NetworkInterfaceId).sort();
    };
    expect(await byType('trunk')).toEqual([trunk]);
    expect(await byType('efa', 'trunk')).toEqual([trunk]);
    expect(await byType('interface')).toContain(plain.NetworkInterfaceId);
    expect(await byType('interface')).not.toContain(trunk);
  });

  // `interface` is what every plain ENI is, yet not a value CreateNetworkInterface takes (API model, SDK enum).
  it.each(['interface', 'Trunk', 'vpc_endpoint'])('refuses InterfaceType "%s" as EC2 does', async (type) => {
    node = await awsNode({ maxAttempts: 1 });
    const n = node;
    const before = n.cloud.describeInterfaces().length;
    const err = await create(n, type).then(
      () => undefined,
      (e: Error & { $metadata?: { httpStatusCode?: number } }) => e,
    );
    expect(err?.name).toBe('InvalidParameterValue');
    expect(err?.message).toBe(`'${type}' is not a valid value for interface type. Enter a valid value and try again.`);
    expect(err?.$metadata?.httpStatusCode).toBe(400);
    expect(n.cloud.describeInterfaces()).toHaveLength(before);
  });
});

describe('sim cloud state', () => {
  it('keeps interface types across save and load, and refuses an unknown one', () => {
    const { cloud } = seedCloud();
    const subnetId = cloud.describeSubnets()[0]!.id;
    const trunk = cloud.createInterface({ subnetId, interfaceType: 'trunk' });
    const plain = cloud.createInterface({ subnetId });
    const state = cloud.toJSON();
    const again = SimCloud.fromJSON(JSON.parse(JSON.stringify(state)));
    expect(again.getInterface(trunk.id).interfaceType).toBe('trunk');
    expect(again.getInterface(plain.id).interfaceType).toBeUndefined(); // a plain ENI, as before types existed
    const bad = structuredClone(state);
    bad.interfaces.find((x) => x.id === trunk.id)!.interfaceType = 'nat' as never;
    expect(() => SimCloud.fromJSON(bad)).toThrow(/interfaceType must be interface, branch, efa, efa-only, trunk/);
  });
});
