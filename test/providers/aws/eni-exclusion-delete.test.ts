/**
 * No path of the AWS adapter deletes an excluded ENI (trunk, EFA, no_manage, and with
 * MANAGE_UNTAGGED_ENI=false an untagged one), even one carrying our instance tag and old enough to be a
 * leak: deleteInterface (how ipamd removes an empty ENI), the node's leak reclaim, and the cluster-wide
 * sweep. Over the EC2 emulator with the real SDK; the ordinary case beside each shows the path still works.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AwsProvider } from '../../../providers/aws/aws-provider.js';
import { TAG_NO_MANAGE } from '../../../providers/aws/eni-exclusion.js';
import { LeakedEniCollector } from '../../../providers/aws/eni-gc.js';
import { TAG_CREATED_AT, TAG_GC_MARKED_AT, TAG_INSTANCE_ID } from '../../../providers/aws/tags.js';
import { foreignEni } from './foreign-eni.js';
import { awsNode, failure, type AwsNode } from './helpers.js';

let node: AwsNode | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

const HOUR = 3_600_000;
const exists = (n: AwsNode, id: string) => n.cloud.describeInterfaces().some((x) => x.id === id);
const mutations = (n: AwsNode, from: number) =>
  n.emu.requests
    .slice(from)
    .filter((r) => !r.action.startsWith('Describe'))
    .map((r) => r.action);

describe('deleteInterface (the empty-ENI path)', () => {
  it('refuses an excluded ENI before any mutating call, and still deletes an ordinary one', async () => {
    node = await awsNode({ instanceType: 'm5.4xlarge' });
    const n = node;
    const ours = { [TAG_INSTANCE_ID]: n.instanceId };
    const trunk = await foreignEni(n, { type: 'trunk', tags: ours, at: 1 });
    const efa = await foreignEni(n, { type: 'efa', at: 2 });
    const noManage = await foreignEni(n, { tags: { ...ours, [TAG_NO_MANAGE]: 'true' }, at: 3 });
    const untagged = await foreignEni(n, { at: 4 });
    const strict = await AwsProvider.create({ ec2: n.ec2, imds: n.imds, clock: n.clock, manageUntaggedEni: false });
    const mark = n.emu.requests.length;
    const cases = [
      [n.provider, trunk],
      [n.provider, efa],
      [n.provider, noManage],
      [strict, untagged],
    ] as const;
    for (const [p, id] of cases) {
      const refused = await failure(p.deleteInterface(id));
      expect(refused).toMatchObject({ code: 'CLOUD_INVALID', cloudCode: 'OperationNotPermitted' });
      expect(n.cloud.getInterface(id).attachment?.instanceId).toBe(n.instanceId);
    }
    expect(mutations(n, mark)).toEqual([]);
    // With MANAGE_UNTAGGED_ENI at its default the untagged ENI is ipamd's, and deletable; so is one it made.
    const own = (await n.provider.createInterface({ subnetId: n.podSubnetId })).id;
    await n.provider.deleteInterface(untagged);
    await n.provider.deleteInterface(own);
    expect([exists(n, untagged), exists(n, own)]).toEqual([false, false]);
  });
});

describe('leak reclaim (the node’s own detached ENIs)', () => {
  it('deletes a dead run’s ENI but never an excluded one tagged for this instance', async () => {
    node = await awsNode();
    const n = node;
    const deadRun = { [TAG_INSTANCE_ID]: n.instanceId, [TAG_CREATED_AT]: new Date(Date.now() - HOUR).toISOString() };
    const leaked = await foreignEni(n, { tags: deadRun });
    const noManage = await foreignEni(n, { tags: { ...deadRun, [TAG_NO_MANAGE]: 'true' } });
    const trunk = await foreignEni(n, { type: 'trunk', tags: deadRun });
    const efaOnly = await foreignEni(n, { type: 'efa-only', tags: deadRun });
    // A fresh start of the daemon: everything created before it is an earlier run's.
    const p = await AwsProvider.create({ ec2: n.ec2, imds: n.imds, clock: n.clock });
    expect(await p.reclaimLeakedInterfaces()).toEqual({ deleted: [leaked], retrying: [] });
    expect(exists(n, leaked)).toBe(false);
    for (const id of [noManage, trunk, efaOnly]) expect(exists(n, id)).toBe(true);
    // Nothing is due any more: excluded ENIs do not keep the reclaim scanning.
    const before = n.emu.counts().DescribeNetworkInterfaces ?? 0;
    expect(await p.reclaimLeakedInterfaces()).toEqual({ deleted: [], retrying: [] });
    expect(n.emu.counts().DescribeNetworkInterfaces ?? 0).toBe(before);
  });
});

describe('cluster-wide sweep (eni-gc)', () => {
  it('neither marks nor deletes an excluded ENI, even one already marked; reports why', async () => {
    node = await awsNode();
    const n = node;
    const old = new Date(Date.now() - HOUR).toISOString();
    const leak = { [TAG_INSTANCE_ID]: 'i-0dead', [TAG_CREATED_AT]: old, [TAG_GC_MARKED_AT]: old };
    const leaked = await foreignEni(n, { tags: leak });
    const noManage = await foreignEni(n, { tags: { ...leak, [TAG_NO_MANAGE]: 'true' } });
    const trunk = await foreignEni(n, { type: 'trunk', tags: leak });
    const efa = await foreignEni(n, { type: 'efa', tags: leak });
    const unmarkedTags = { [TAG_INSTANCE_ID]: 'i-0dead', [TAG_CREATED_AT]: old };
    const unmarked = await foreignEni(n, { type: 'efa-only', tags: unmarkedTags });
    const gc = new LeakedEniCollector({ ec2: n.ec2, clock: n.clock, vpcId: n.provider.identity.vpcId });

    const mark = n.emu.requests.length;
    const first = await gc.runPass();
    expect(first.deleted).toEqual([leaked]);
    expect(first.marked).toEqual([]);
    expect(first.excluded.sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [
        { id: noManage, reason: `tag ${TAG_NO_MANAGE}=true` },
        { id: trunk, reason: 'interface type trunk' },
        { id: efa, reason: 'interface type efa' },
        { id: unmarked, reason: 'interface type efa-only' },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    );
    expect(mutations(n, mark)).toEqual(['DeleteNetworkInterface']); // no CreateTags on excluded ones
    expect(n.cloud.getInterface(unmarked).tags[TAG_GC_MARKED_AT]).toBeUndefined();
    expect((await gc.runPass()).deleted).toEqual([]);
    for (const id of [noManage, trunk, efa, unmarked]) expect(exists(n, id)).toBe(true);
  });
});
