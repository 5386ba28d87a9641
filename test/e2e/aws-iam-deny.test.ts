/**
 * The IAM policies in docs/aws.md, the deny side, through the real SDK against the emulator that evaluates them:
 * the node role cannot change an ENI of another cluster or an untagged one in the same VPC, cannot create an ENI
 * without the cluster tag or outside the cluster's VPC, cannot attach to another cluster's instance, and cannot
 * retag an existing ENI (which would bring it into reach); the sweep role cannot delete another cluster's ENI or
 * one without the instance tag, and writes no tag but its own. Each refusal names the action and the resource
 * refused, and changes nothing; DryRun answers by the same policy.
 */
import {
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  CreateTagsCommand,
  DeleteNetworkInterfaceCommand,
  DetachNetworkInterfaceCommand,
  ModifyNetworkInterfaceAttributeCommand,
  UnassignPrivateIpAddressesCommand,
  type EC2Client,
  type Tag,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clusterNodeTags } from '../../providers/aws/emulator/node.js';
import type { AwsEmulator } from '../../providers/aws/emulator/server.js';
import { TAG_CLUSTER, TAG_CREATED_AT, TAG_GC_MARKED_AT, TAG_INSTANCE_ID } from '../../providers/aws/tags.js';
import { SimCloud } from '../../providers/sim/cloud.js';
import type { Tags } from '../../providers/sim/model.js';
import { startEmulator } from '../providers/aws/daemon-helpers.js';
import { sdkAnswer } from '../providers/aws/helpers.js';
import { bareClient, CLUSTER, docPolicy, ec2Arn, refusal } from './aws-iam-policies.js';

const OLD = new Date(Date.now() - 3_600_000).toISOString();
const eniArn = (id: string) => ec2Arn('network-interface', id);
const asTags = (t: Tags): Tag[] => Object.entries(t).map(([Key, Value]) => ({ Key, Value }));

/**
 * One VPC with a node of CLUSTER and a node of cluster `other`, each tagged as its launch template would, and
 * ENIs in the Pod subnet: `theirs` (other's, detached), `untagged`, `ours` (CLUSTER's, detached), and on our
 * node `theirsOnOurs` and `untaggedOnOurs` (attached at 1 and 2). Plus a subnet of another VPC.
 */
function world() {
  const cloud = new SimCloud({ seed: 9, clock: { now: Date.now }, provider: 'aws' });
  const base = { instanceType: 'm5.large', subnetCidr: '10.0.1.0/24', podSubnetCidr: '10.0.2.0/24' };
  const node = cloud.seedNode({ ...base, ...clusterNodeTags(CLUSTER) });
  const otherNode = cloud.seedNode({ ...base, ...clusterNodeTags('other') });
  const vpcId = cloud.describeVpcs()[0]!.id;
  const pod = cloud.describeSubnets().find((s) => s.cidr === '10.0.2.0/24')!.id;
  const eni = (tags: Tags) => cloud.createInterface({ subnetId: pod, tags, secondaryIps: { count: 1 } });
  const theirTags = { [TAG_CLUSTER]: 'other', [TAG_INSTANCE_ID]: otherNode, [TAG_CREATED_AT]: OLD };
  const ourTags = { [TAG_CLUSTER]: CLUSTER, [TAG_INSTANCE_ID]: node, [TAG_CREATED_AT]: OLD };
  const theirsOnOurs = eni(theirTags);
  const untaggedOnOurs = eni({});
  const attachmentOf = (id: string, index: number) => cloud.attachInterface(id, node, index).id;
  const attachments = { theirs: attachmentOf(theirsOnOurs.id, 1), untagged: attachmentOf(untaggedOnOurs.id, 2) };
  const foreignVpc = cloud.createVpc({ cidr: '10.9.0.0/16' });
  const foreign = cloud.createSubnet({ vpcId: foreignVpc.id, cidr: '10.9.1.0/24', zone: 'us-east-1a' });
  return {
    cloud,
    node,
    otherNode,
    vpcId,
    pod,
    foreignSubnet: foreign.id,
    theirs: eni(theirTags),
    untagged: eni({}),
    ours: eni(ourTags),
    noInstanceTag: eni({ [TAG_CLUSTER]: CLUSTER, [TAG_CREATED_AT]: OLD }),
    theirsOnOurs,
    untaggedOnOurs,
    attachments,
  };
}

let w: ReturnType<typeof world>;
let emu: AwsEmulator;
let ec2: EC2Client;
beforeEach(() => {
  w = world();
});
afterEach(async () => {
  ec2?.destroy();
  await emu?.close();
});

async function as(role: 'node' | 'gc'): Promise<void> {
  emu = await startEmulator({
    cloud: w.cloud,
    instanceId: w.node,
    iamPolicy: docPolicy(role, { CLUSTER_NAME: CLUSTER, VPC_ID: w.vpcId }),
  });
  ec2 = bareClient(emu.endpoint);
}

const del = (id: string, DryRun?: boolean) =>
  ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id, ...(DryRun ? { DryRun } : {}) }));
const tag = (id: string, tags: Tags) => ec2.send(new CreateTagsCommand({ Resources: [id], Tags: asTags(tags) }));

describe('scoped IAM (docs/aws.md): the node role', () => {
  it('cannot delete, detach, unassign, assign or modify an ENI of another cluster, nor an untagged one', async () => {
    await as('node');
    const ips = (id: string) => [w.cloud.getInterface(id).privateIps[0]!];
    for (const [detached, attached, attachment] of [
      [w.theirs.id, w.theirsOnOurs.id, w.attachments.theirs],
      [w.untagged.id, w.untaggedOnOurs.id, w.attachments.untagged],
    ] as const) {
      const refusedOn = (resource: string) => ({ resource: eniArn(resource), explicitDeny: false });
      expect(await refusal(del(detached))).toMatchObject({
        action: 'ec2:DeleteNetworkInterface',
        ...refusedOn(detached),
      });
      const detach = new DetachNetworkInterfaceCommand({ AttachmentId: attachment });
      // Our instance passes its condition: the ENI's tag is what refuses.
      expect(await refusal(ec2.send(detach))).toMatchObject({
        action: 'ec2:DetachNetworkInterface',
        ...refusedOn(attached),
      });
      const unassign = new UnassignPrivateIpAddressesCommand({
        NetworkInterfaceId: detached,
        PrivateIpAddresses: ips(detached),
      });
      expect(await refusal(ec2.send(unassign))).toMatchObject({ action: 'ec2:UnassignPrivateIpAddresses' });
      const assign = new AssignPrivateIpAddressesCommand({
        NetworkInterfaceId: detached,
        SecondaryPrivateIpAddressCount: 1,
      });
      expect(await refusal(ec2.send(assign))).toMatchObject({ action: 'ec2:AssignPrivateIpAddresses' });
      const Attachment = { AttachmentId: attachment, DeleteOnTermination: false };
      const modify = new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: attached, Attachment });
      expect(await refusal(ec2.send(modify))).toMatchObject({
        action: 'ec2:ModifyNetworkInterfaceAttribute',
        ...refusedOn(attached),
      });
      const attach = new AttachNetworkInterfaceCommand({
        NetworkInterfaceId: detached,
        InstanceId: w.node,
        DeviceIndex: 1,
      });
      expect(await refusal(ec2.send(attach))).toMatchObject({
        action: 'ec2:AttachNetworkInterface',
        ...refusedOn(detached),
      });
    }
    // Nothing changed; and the same calls on our own ENI go through (DryRun: allowed, nothing done).
    expect(w.cloud.getInterface(w.theirsOnOurs.id).attachment).toMatchObject({ id: w.attachments.theirs });
    expect(w.cloud.getInterface(w.theirs.id).privateIps).toHaveLength(1);
    expect(await sdkAnswer(del(w.ours.id, true))).toMatchObject({ name: 'DryRunOperation', status: 412 });
    expect(await refusal(del(w.theirs.id, true))).toMatchObject({ resource: eniArn(w.theirs.id) });
    expect(await sdkAnswer(del(w.ours.id))).toMatchObject({ name: 'ok' });
  });

  it('cannot attach even its own cluster’s ENI to another cluster’s instance', async () => {
    await as('node');
    const attach = new AttachNetworkInterfaceCommand({
      NetworkInterfaceId: w.ours.id,
      InstanceId: w.otherNode,
      DeviceIndex: 1,
    });
    expect(await refusal(ec2.send(attach))).toMatchObject({
      action: 'ec2:AttachNetworkInterface',
      resource: ec2Arn('instance', w.otherNode),
    });
    expect(w.cloud.getInterface(w.ours.id).attachment).toBeUndefined();
  });

  it('cannot create an ENI without the cluster and instance tags, nor outside the cluster’s VPC', async () => {
    await as('node');
    const before = w.cloud.describeInterfaces().length;
    const create = (SubnetId: string, tags: Tags) =>
      ec2.send(
        new CreateNetworkInterfaceCommand({
          SubnetId,
          TagSpecifications: [{ ResourceType: 'network-interface', Tags: asTags(tags) }],
        }),
      );
    const newEni = { action: 'ec2:CreateNetworkInterface', resource: ec2Arn('network-interface', '*') };
    expect(await refusal(ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: w.pod })))).toMatchObject(newEni);
    expect(await refusal(create(w.pod, { [TAG_INSTANCE_ID]: w.node }))).toMatchObject(newEni);
    expect(await refusal(create(w.pod, { [TAG_CLUSTER]: 'other', [TAG_INSTANCE_ID]: w.node }))).toMatchObject(newEni);
    expect(await refusal(create(w.pod, { [TAG_CLUSTER]: CLUSTER }))).toMatchObject(newEni);
    const full = { [TAG_CLUSTER]: CLUSTER, [TAG_INSTANCE_ID]: w.node };
    const elsewhere = { action: 'ec2:CreateNetworkInterface', resource: ec2Arn('subnet', w.foreignSubnet) };
    expect(await refusal(create(w.foreignSubnet, full))).toMatchObject(elsewhere);
    expect(w.cloud.describeInterfaces()).toHaveLength(before);
    expect(await sdkAnswer(create(w.pod, full))).toMatchObject({ name: 'ok' }); // as ipamd creates them
  });

  it('cannot tag an existing ENI: no retagging one into the cluster, not even its own', async () => {
    await as('node');
    for (const id of [w.untagged.id, w.theirs.id, w.ours.id]) {
      expect(await refusal(tag(id, { [TAG_CLUSTER]: CLUSTER }))).toMatchObject({
        action: 'ec2:CreateTags',
        resource: eniArn(id),
      });
    }
    expect(w.cloud.getInterface(w.untagged.id).tags).toEqual({});
    expect(w.cloud.getInterface(w.theirs.id).tags[TAG_CLUSTER]).toBe('other');
  });
});

describe('scoped IAM (docs/aws.md): the sweep role', () => {
  it('cannot delete an ENI of another cluster, one without the instance tag, or an untagged one', async () => {
    await as('gc');
    for (const id of [w.theirs.id, w.noInstanceTag.id, w.untagged.id]) {
      expect(await refusal(del(id))).toMatchObject({ action: 'ec2:DeleteNetworkInterface', resource: eniArn(id) });
    }
    expect(w.cloud.describeInterfaces().map((n) => n.id)).toEqual(
      expect.arrayContaining([w.theirs.id, w.noInstanceTag.id]),
    );
    expect(await sdkAnswer(del(w.ours.id))).toMatchObject({ name: 'ok' });
  });

  it('writes only its mark, and created-at where there is none; never on another cluster’s ENI', async () => {
    await as('gc');
    const now = new Date().toISOString();
    const refusedTag = { action: 'ec2:CreateTags', resource: eniArn(w.ours.id) };
    const outOfBounds: Tags[] = [
      { [TAG_CLUSTER]: 'other' },
      { [TAG_INSTANCE_ID]: 'i-0elsewhere' },
      { [TAG_GC_MARKED_AT]: now, team: 'x' },
      { [TAG_CREATED_AT]: now }, // it has one already: no making an ENI look older
    ];
    for (const tags of outOfBounds) {
      expect(await refusal(tag(w.ours.id, tags))).toMatchObject(refusedTag);
    }
    expect(await refusal(tag(w.theirs.id, { [TAG_GC_MARKED_AT]: now }))).toMatchObject({
      resource: eniArn(w.theirs.id),
    });
    expect(await refusal(tag(w.untagged.id, { [TAG_CLUSTER]: CLUSTER }))).toMatchObject({
      resource: eniArn(w.untagged.id),
    });
    // A batch with one ENI out of reach is refused as a whole.
    const batch = new CreateTagsCommand({
      Resources: [w.ours.id, w.theirs.id],
      Tags: asTags({ [TAG_GC_MARKED_AT]: now }),
    });
    expect(await refusal(ec2.send(batch))).toMatchObject({ resource: eniArn(w.theirs.id) });
    expect(w.cloud.getInterface(w.ours.id).tags).toEqual({
      [TAG_CLUSTER]: CLUSTER,
      [TAG_INSTANCE_ID]: w.node,
      [TAG_CREATED_AT]: OLD,
    });
    expect(await sdkAnswer(tag(w.ours.id, { [TAG_GC_MARKED_AT]: now }))).toMatchObject({ name: 'ok' });
  });
});
