/**
 * No ENI is left behind by the AWS create → attach → DeleteOnTermination path
 * and its undo, over the EC2 emulator with the real SDK: a failure at each
 * step (fault knobs), with the undo refused too (IAM: nothing retries that),
 * is cleaned by the provider's next reclaim; an ENI a dead run left between
 * create and attach is deleted when the node's daemon starts again; and
 * nobody else's detached ENI is touched.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AwsProvider } from '../../../providers/aws/aws-provider.js';
import { allowOnly } from '../../../providers/aws/emulator/iam-policy.js';
import { EMULATED_EC2_ACTIONS } from '../../../providers/aws/emulator/server.js';
import { CloudUnavailableError } from '../../../providers/errors.js';
import { TAG_CREATED_AT, TAG_INSTANCE_ID } from '../../../providers/interface-tags.js';
import type { SimCloud } from '../../../providers/sim/cloud.js';
import { awsDaemon, type AwsDaemon } from './daemon-helpers.js';
import { awsNode, failure, type AwsNode } from './helpers.js';

let node: AwsNode | undefined;
let daemon: AwsDaemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
  await node?.close();
  node = undefined;
});

const internal = (operation: string) =>
  new CloudUnavailableError({ provider: 'aws', operation, cloudCode: 'InternalError', message: 'internal error' });
const allBut = (...refused: string[]) => EMULATED_EC2_ACTIONS.filter((a) => !refused.includes(a));
const detached = (cloud: SimCloud) => cloud.describeInterfaces({ status: ['available'] });
const freeIn = (n: AwsNode) => n.cloud.getSubnet(n.podSubnetId).availableAddresses;

describe('AWS createInterface: a failure at any step leaves nothing detached', () => {
  const MODIFY = 'ModifyNetworkInterfaceAttribute';
  it.each([
    ['the attach fails, and the undo may not delete', 'AttachNetworkInterface', 'DeleteNetworkInterface'],
    ['DeleteOnTermination fails, and the undo may not delete', MODIFY, 'DeleteNetworkInterface'],
    ['DeleteOnTermination fails, and the undo may not detach', MODIFY, 'DetachNetworkInterface'],
  ])('%s: the next reclaim deletes what is detached; an attached one stays', async (_name, failing, refused) => {
    node = await awsNode();
    const n = node;
    const before = freeIn(n);
    n.emu.faults.failNext(failing, 2, internal); // both SDK attempts
    n.emu.setIamPolicy(allowOnly(allBut(refused)));
    const six = { subnetId: n.podSubnetId, initial: { kind: 'ip', count: 5 } } as const;
    const failed = await failure(n.provider.createInterface(six));
    expect(failed).toMatchObject({ code: 'CLOUD_UNAVAILABLE' });
    n.emu.setIamPolicy(undefined);
    const report = await n.provider.reclaimLeakedInterfaces();
    expect(detached(n.cloud)).toEqual([]);
    const kept = n.cloud.getInstance(n.instanceId).interfaces.filter((x) => x.attachment?.deviceIndex !== 0);
    expect(report.deleted).toHaveLength(kept.length ? 0 : 1);
    expect(freeIn(n)).toBe(before - kept.length * 6);
  });

  it('a dead run’s ENI (created, never attached) is deleted when the node starts again; others’ stay', async () => {
    node = await awsNode({ strict: false }); // the daemon below runs its timers on the system clock
    const n = node;
    // The dead run: its create landed and nothing after it did (what a SIGKILL after CreateNetworkInterface leaves).
    n.emu.setIamPolicy(allowOnly(allBut('AttachNetworkInterface', 'DeleteNetworkInterface')));
    await failure(n.provider.createInterface({ subnetId: n.podSubnetId, initial: { kind: 'ip', count: 5 } }));
    n.emu.setIamPolicy(undefined);
    const [left] = detached(n.cloud);
    expect(left).toMatchObject({ tags: { [TAG_INSTANCE_ID]: n.instanceId } });
    const othersTags = { [TAG_INSTANCE_ID]: 'i-0someoneelse', [TAG_CREATED_AT]: new Date(0).toISOString() };
    const foreign = n.cloud.createInterface({ subnetId: n.podSubnetId, tags: othersTags });
    const untagged = n.cloud.createInterface({ subnetId: n.podSubnetId });
    await new Promise((r) => setTimeout(r, 5)); // the restart happens after the dead run's last change
    daemon = await awsDaemon({}, { emu: n.emu });
    expect(n.cloud.describeInterfaces().map((x) => x.id)).not.toContain(left!.id);
    expect(
      detached(n.cloud)
        .map((x) => x.id)
        .sort(),
    ).toEqual([foreign.id, untagged.id].sort());
  });

  it('a dead run’s ENI made just before the restart: EC2 lagging with NotFound is not taken for gone', async () => {
    node = await awsNode({ strict: { notFoundRatio: 1 } }); // every by-id call inside the window: NotFound
    const n = node;
    n.emu.setIamPolicy(allowOnly(allBut('AttachNetworkInterface', 'DeleteNetworkInterface')));
    await failure(n.provider.createInterface({ subnetId: n.podSubnetId, initial: { kind: 'ip', count: 5 } }));
    n.emu.setIamPolicy(undefined);
    const [left] = detached(n.cloud);
    // The restart, a second later: the Describe lists the ENI, while a Delete naming it is still answered NotFound.
    await n.clock.sleep(1_000);
    const restarted = await AwsProvider.create({ ec2: n.ec2, imds: n.imds, clock: n.clock });
    expect(await restarted.reclaimLeakedInterfaces()).toEqual({ deleted: [left!.id], retrying: [] });
    expect(detached(n.cloud)).toEqual([]);
  });

  it('the start-up look is one DescribeNetworkInterfaces; a resync with nothing due makes no call', async () => {
    node = await awsNode();
    const n = node;
    const before = n.emu.counts().DescribeNetworkInterfaces ?? 0;
    expect(await n.provider.reclaimLeakedInterfaces()).toEqual({ deleted: [], retrying: [] });
    expect((n.emu.counts().DescribeNetworkInterfaces ?? 0) - before).toBe(1);
    await n.provider.reclaimLeakedInterfaces();
    expect((n.emu.counts().DescribeNetworkInterfaces ?? 0) - before).toBe(1);
    // A fresh provider (a restart) looks again.
    const again = await AwsProvider.create({ ec2: n.ec2, imds: n.imds, clock: n.clock });
    await again.reclaimLeakedInterfaces();
    expect((n.emu.counts().DescribeNetworkInterfaces ?? 0) - before).toBe(2);
  });
});
