/**
 * ENIs ipamd must leave alone, as the VPC CNI does (providers/aws/eni-exclusion.ts), over the EC2 emulator
 * with the real SDK: describeNode marks trunk, EFA, no_manage and (MANAGE_UNTAGGED_ENI=false) untagged or
 * foreign-tagged ENIs with their reason; never the primary, never the ENIs the adapter creates; they still
 * take attachment slots; and the settings that drive it.
 */
import { CreateTagsCommand } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { AwsProvider } from '../../../providers/aws/aws-provider.js';
import { toNetworkInterface } from '../../../providers/aws/convert.js';
import { exclusionReason, TAG_NO_MANAGE, TAG_VPC_CNI_INSTANCE_ID } from '../../../providers/aws/eni-exclusion.js';
import { parseAwsSettings } from '../../../providers/aws/settings.js';
import { TAG_INSTANCE_ID } from '../../../providers/aws/tags.js';
import { foreignEni } from './foreign-eni.js';
import { awsNode, failure, type AwsNode } from './helpers.js';

let node: AwsNode | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

/** A second provider for the same node, as a daemon started with MANAGE_UNTAGGED_ENI=false would build it. */
function strictProvider(n: AwsNode): Promise<AwsProvider> {
  return AwsProvider.create({ ec2: n.ec2, imds: n.imds, clock: n.clock, manageUntaggedEni: false });
}

const reasons = async (p: AwsProvider) =>
  Object.fromEntries((await p.describeNode()).interfaces.map((i) => [i.id, i.excluded]));

describe('describeNode: excluded ENIs', () => {
  it('marks trunk, efa, efa-only and no_manage=true with their reason; not the primary, not its own', async () => {
    node = await awsNode({ instanceType: 'm5.4xlarge' });
    const n = node;
    const primary = n.cloud.getInstance(n.instanceId).interfaces[0]!.id;
    // The VPC CNI ignores no_manage on the primary: it carries the node address.
    await n.ec2.send(new CreateTagsCommand({ Resources: [primary], Tags: [{ Key: TAG_NO_MANAGE, Value: 'true' }] }));
    const trunk = await foreignEni(n, { type: 'trunk', at: 1 });
    const efa = await foreignEni(n, { type: 'efa', at: 2 });
    const efaOnly = await foreignEni(n, { type: 'efa-only', at: 3 });
    const noManage = await foreignEni(n, { tags: { [TAG_NO_MANAGE]: 'true' }, at: 4 });
    // Only the exact string `true` counts (the VPC CNI compares strings; it does not ParseBool the tag).
    const notTrue = await foreignEni(n, { tags: { [TAG_NO_MANAGE]: 'True' }, at: 5 });
    const untagged = await foreignEni(n, { at: 6 });
    const own = (await n.provider.createInterface({ subnetId: n.podSubnetId })).id;

    expect(await reasons(n.provider)).toEqual({
      [primary]: undefined,
      [trunk]: 'interface type trunk',
      [efa]: 'interface type efa',
      [efaOnly]: 'interface type efa-only',
      [noManage]: `tag ${TAG_NO_MANAGE}=true`,
      [notTrue]: undefined,
      [untagged]: undefined, // MANAGE_UNTAGGED_ENI defaults to true
      [own]: undefined,
    });
    const inv = await n.provider.describeNode();
    expect(inv.interfaces.map((i) => i.deviceIndex)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]); // still listed, in order
  });

  it('MANAGE_UNTAGGED_ENI=false: untagged or foreign-tagged secondaries excluded; ours, the primary not', async () => {
    node = await awsNode({ instanceType: 'm5.4xlarge' });
    const n = node;
    const primary = n.cloud.getInstance(n.instanceId).interfaces[0]!.id; // untagged, as EC2 launches it
    const untagged = await foreignEni(n, { tags: { team: 'db' }, at: 1 });
    const othersTag = await foreignEni(n, { tags: { [TAG_INSTANCE_ID]: 'i-0another' }, at: 2 });
    const vpcCni = await foreignEni(n, { tags: { [TAG_VPC_CNI_INSTANCE_ID]: n.instanceId }, at: 3 });
    // A no_manage tag that is not `true` keeps the ENI managed even untagged (setUnmanagedENIs' first branch).
    const noManageFalse = await foreignEni(n, { tags: { [TAG_NO_MANAGE]: 'false' }, at: 4 });
    const trunk = await foreignEni(n, { type: 'trunk', tags: { [TAG_INSTANCE_ID]: n.instanceId }, at: 5 });
    const own = (await n.provider.createInterface({ subnetId: n.podSubnetId })).id;

    const strict = await strictProvider(n);
    expect(await reasons(strict)).toEqual({
      [primary]: undefined,
      [untagged]: 'untagged and MANAGE_UNTAGGED_ENI=false',
      [othersTag]: 'tagged for i-0another, not this instance, and MANAGE_UNTAGGED_ENI=false',
      [vpcCni]: undefined,
      [noManageFalse]: undefined,
      [trunk]: 'interface type trunk', // the type wins over our tag
      [own]: undefined,
    });
    expect((await strict.createInterface({ subnetId: n.podSubnetId })).excluded).toBeUndefined();
    // The default provider of the same node excludes only the trunk.
    expect(Object.values(await reasons(n.provider)).filter(Boolean)).toEqual(['interface type trunk']);
  });

  it('excluded ENIs still take attachment slots: a full node refuses before any mutating call', async () => {
    node = await awsNode(); // m5.large: 3 interfaces
    const n = node;
    await foreignEni(n, { type: 'trunk', at: 1 });
    await foreignEni(n, { tags: { [TAG_NO_MANAGE]: 'true' }, at: 2 });
    const mark = n.emu.requests.length;
    const refused = await failure(n.provider.createInterface({ subnetId: n.podSubnetId }));
    expect(refused).toMatchObject({ code: 'CLOUD_NIC_LIMIT' });
    expect(n.emu.requests.slice(mark).filter((r) => !r.action.startsWith('Describe'))).toEqual([]);
  });

  it('an efa-only ENI without any IPv4 address (as EC2 returns it) converts, excluded, instead of failing', () => {
    const ec2Shape = {
      NetworkInterfaceId: 'eni-0efa',
      SubnetId: 'subnet-0abc',
      InterfaceType: 'efa-only' as const,
      MacAddress: '02:00:00:00:00:09',
      Attachment: { DeviceIndex: 1, NetworkCardIndex: 0, InstanceId: 'i-0abc', AttachmentId: 'eni-attach-0efa' },
      PrivateIpAddresses: [],
      TagSet: [],
    };
    expect(toNetworkInterface(ec2Shape, '10.0.2.0/24')).toMatchObject({ id: 'eni-0efa', primaryIp: '', blocks: [] });
    expect(exclusionReason(ec2Shape)).toBe('interface type efa-only');
    expect(() => toNetworkInterface({ ...ec2Shape, InterfaceType: 'interface' }, '')).toThrow(/PrivateIpAddress/);
  });
});

describe('settings', () => {
  it('MANAGE_UNTAGGED_ENI defaults to true and reads ParseBool spellings only', () => {
    expect(parseAwsSettings({}).manageUntaggedEni).toBe(true);
    expect(parseAwsSettings({ MANAGE_UNTAGGED_ENI: 'F' }).manageUntaggedEni).toBe(false);
    expect(parseAwsSettings({ MANAGE_UNTAGGED_ENI: '1' }).manageUntaggedEni).toBe(true);
    const refused = /MANAGE_UNTAGGED_ENI: expected true or false/;
    expect(() => parseAwsSettings({ MANAGE_UNTAGGED_ENI: 'no' })).toThrow(refused);
  });

  it('ADDITIONAL_ENI_TAGS may not carry the VPC CNI’s keys (no_manage on every new ENI leaks them all)', () => {
    const env = (k: string) => ({ ADDITIONAL_ENI_TAGS: JSON.stringify({ [k]: 'true' }) });
    expect(() => parseAwsSettings(env(TAG_NO_MANAGE))).toThrow(/ADDITIONAL_ENI_TAGS: .*k8s\.amazonaws\.com/);
    expect(() => parseAwsSettings(env(TAG_VPC_CNI_INSTANCE_ID))).toThrow(/reserved for the VPC CNI/);
    expect(parseAwsSettings(env('team')).additionalTags).toEqual({ team: 'true' });
  });
});
