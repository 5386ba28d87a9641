/**
 * The leaked-ENI sweep over the emulator: mark on one pass, delete on the
 * next if still detached; grace period, foreign and attached ENIs, cluster
 * scoping; the cost of a pass; and `vpc-ipamctl gc-enis` doing the same.
 */
import { parseCtlSettings } from '../../../ipamd/config/ctl.js';
import { AttachNetworkInterfaceCommand, CreateNetworkInterfaceCommand } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { gcEnisCommand } from '../../../ipamd/ctl/commands/gc-enis.js';
import { LeakedEniCollector } from '../../../providers/aws/eni-gc.js';
import { CloudNotFoundError } from '../../../providers/errors.js';
import { TAG_CLUSTER, TAG_CREATED_AT, TAG_GC_MARKED_AT, TAG_INSTANCE_ID } from '../../../providers/aws/tags.js';
import { awsNode, pastNotFound, settle, TEST_GROUP, type AwsNode } from './helpers.js';

let node: AwsNode;
afterEach(async () => {
  vi.restoreAllMocks();
  await node?.close();
});

const HOUR = 3_600_000;

async function leak(n: AwsNode, tags: Record<string, string>): Promise<string> {
  const out = await n.ec2.send(
    new CreateNetworkInterfaceCommand({
      SubnetId: n.podSubnetId,
      Groups: [TEST_GROUP],
      SecondaryPrivateIpAddressCount: 2,
      TagSpecifications: [
        { ResourceType: 'network-interface', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
      ],
    }),
  );
  return out.NetworkInterface!.NetworkInterfaceId!;
}

const exists = (n: AwsNode, id: string) => n.cloud.describeInterfaces().some((x) => x.id === id);

describe('leaked-ENI sweep', () => {
  it('marks old detached vpc-ipam ENIs on one pass and deletes them on the next; leaves everything else', async () => {
    node = await awsNode();
    const old = new Date(Date.now() - HOUR).toISOString();
    const leaked = await leak(node, { [TAG_INSTANCE_ID]: 'i-0dead', [TAG_CREATED_AT]: old, [TAG_CLUSTER]: 'blue' });
    const young = await leak(node, {
      [TAG_INSTANCE_ID]: 'i-0dead',
      [TAG_CREATED_AT]: new Date().toISOString(),
      [TAG_CLUSTER]: 'blue',
    });
    const undated = await leak(node, { [TAG_INSTANCE_ID]: 'i-0dead', [TAG_CLUSTER]: 'blue' });
    const foreign = await leak(node, { owner: 'someone-else' });
    const otherCluster = await leak(node, {
      [TAG_INSTANCE_ID]: 'i-0dead',
      [TAG_CREATED_AT]: old,
      [TAG_CLUSTER]: 'green',
    });
    const reattached = await leak(node, { [TAG_INSTANCE_ID]: 'i-0dead', [TAG_CREATED_AT]: old, [TAG_CLUSTER]: 'blue' });
    const inUse = (await node.provider.createInterface({ subnetId: node.podSubnetId })).id;
    await settle(node); // dead nodes' leaks: EC2 has long seen them
    const gc = new LeakedEniCollector({
      ec2: node.ec2,
      clock: node.clock,
      graceMs: 5 * 60_000,
      vpcId: node.provider.identity.vpcId,
      clusterName: 'blue',
    });

    const mark = node.emu.requests.length;
    const first = await gc.runPass();
    expect(first.scanned).toBe(4);
    expect(first.marked.sort()).toEqual([leaked, reattached].sort());
    expect(first.deleted).toEqual([]);
    expect(first.young.sort()).toEqual([young, undated].sort());
    expect(node.cloud.getInterface(leaked).tags[TAG_GC_MARKED_AT]).toBeTruthy();
    expect(node.cloud.getInterface(undated).tags[TAG_CREATED_AT]).toBeTruthy(); // its grace starts now
    // One Describe, and one CreateTags per kind of tag (all ENIs at once): no per-ENI storm.
    expect(
      node.emu.requests
        .slice(mark)
        .map((r) => r.action)
        .sort(),
    ).toEqual(['CreateTags', 'CreateTags', 'DescribeNetworkInterfaces']);

    // Someone attached one of them between the passes: it is no longer a leak.
    const attach = { NetworkInterfaceId: reattached, InstanceId: node.instanceId, DeviceIndex: 2 };
    await pastNotFound(node, () => node.ec2.send(new AttachNetworkInterfaceCommand(attach)));
    await node.clock.sleep(60_000); // the next pass, a minute later on the sweep's timer
    const second = await gc.runPass();
    expect(second.deleted).toEqual([leaked]);
    expect(exists(node, leaked)).toBe(false);
    for (const id of [young, undated, foreign, otherCluster, reattached, inUse]) expect(exists(node, id)).toBe(true);
    const third = await gc.runPass();
    expect(third.deleted).toEqual([]);
  });

  it('an ENI deleted by someone else between the Describe and the mark: the others are still marked', async () => {
    node = await awsNode();
    const old = new Date(Date.now() - HOUR).toISOString();
    const kept = await leak(node, { [TAG_INSTANCE_ID]: 'i-0dead', [TAG_CREATED_AT]: old });
    const gone = await leak(node, { [TAG_INSTANCE_ID]: 'i-0dead', [TAG_CREATED_AT]: old });
    await settle(node); // dead nodes' leaks: EC2 has long seen them
    const n = node;
    // Its owner deletes it just before our CreateTags lands: EC2 refuses the whole batch naming it.
    n.emu.faults.failNext('CreateTags', 1, (operation) => {
      n.cloud.deleteInterface(gone);
      const message = `The networkInterface ID '${gone}' does not exist`;
      return new CloudNotFoundError({
        provider: 'aws',
        operation,
        cloudCode: 'InvalidNetworkInterfaceID.NotFound',
        message,
      });
    });
    const gc = new LeakedEniCollector({ ec2: n.ec2, clock: n.clock });
    expect((await gc.runPass()).marked).toEqual([kept]);
    expect(n.cloud.getInterface(kept).tags[TAG_GC_MARKED_AT]).toBeDefined();
    await n.clock.sleep(60_000); // the next pass, a minute later
    expect((await gc.runPass()).deleted).toEqual([kept]);
    expect(exists(n, kept)).toBe(false);
  });

  it('dry-run reports and changes nothing', async () => {
    node = await awsNode();
    const leaked = await leak(node, {
      [TAG_INSTANCE_ID]: 'i-0dead',
      [TAG_CREATED_AT]: new Date(Date.now() - HOUR).toISOString(),
    });
    await settle(node); // a dead node's leak: EC2 has long seen it
    const gc = new LeakedEniCollector({ ec2: node.ec2, clock: node.clock, dryRun: true });
    expect((await gc.runPass()).marked).toEqual([leaked]);
    expect(node.cloud.getInterface(leaked).tags[TAG_GC_MARKED_AT]).toBeUndefined();
    expect(node.emu.counts().CreateTags).toBeUndefined();
  });

  it('vpc-ipamctl gc-enis --passes 2 deletes what it marked, and says so', async () => {
    node = await awsNode();
    const leaked = await leak(node, {
      [TAG_INSTANCE_ID]: 'i-0dead',
      [TAG_CREATED_AT]: new Date(Date.now() - HOUR).toISOString(),
    });
    await settle(node); // a dead node's leak: EC2 has long seen it
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
    const env = {
      AWS_EC2_ENDPOINT: node.emu.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'x',
    };
    process.env.AWS_ACCESS_KEY_ID = env.AWS_ACCESS_KEY_ID;
    process.env.AWS_SECRET_ACCESS_KEY = env.AWS_SECRET_ACCESS_KEY;
    const code = await gcEnisCommand.run(
      ['--passes', '2', '--grace', '60', '--vpc-id', node.provider.identity.vpcId, '--json'],
      parseCtlSettings(env),
    );
    expect(code).toBe(0);
    const report = JSON.parse(out.join(''));
    expect(report.passes.map((p: { marked: string[]; deleted: string[] }) => [p.marked, p.deleted])).toEqual([
      [[leaked], []],
      [[], [leaked]],
    ]);
    expect(exists(node, leaked)).toBe(false);
    await expect(gcEnisCommand.run(['--grace', 'soon'], parseCtlSettings(env))).rejects.toThrow(
      /--grace must be a whole number/,
    );
    await expect(gcEnisCommand.run([], parseCtlSettings({}))).rejects.toThrow(/AWS_REGION/);
  });
});
