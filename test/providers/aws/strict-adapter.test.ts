/**
 * The AWS adapter against the strict EC2 emulator (issue 13), with the real `@aws-sdk/client-ec2` and no
 * SDK call mocked: each path the strict behaviours used to break. Delete right after detach waits for the
 * detach (and, when it takes longer than that wait, retries EC2's in-use answer); a create followed by NotFound leaks
 * nothing, and an ENI EC2 never shows is
 * left, tagged, to the leak reclaim with a log; an unassign right after an assign is not taken as done;
 * the generic "no room" wording means a full subnet for /32 requests and no block for prefixes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AwsProvider } from '../../../providers/aws/aws-provider.js';
import { allowOnly } from '../../../providers/aws/emulator/iam-policy.js';
import { TAG_INSTANCE_ID } from '../../../providers/aws/tags.js';
import { CloudUnavailableError } from '../../../providers/errors.js';
import { awsNode, failure, ourInterfaces, type AwsNode } from './helpers.js';

let node: AwsNode | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

/** What the emulator answered each request of `action`: its error code, or `ok`. */
const answers = (n: AwsNode, action: string) =>
  n.emu.requests.filter((r) => r.action === action).map((r) => r.code ?? 'ok');
const internal = (a: string) =>
  new CloudUnavailableError({ provider: 'aws', operation: a, cloudCode: 'InternalError', message: 'internal error' });

describe('AWS adapter on the strict emulator: detach takes seconds', () => {
  it('deleteInterface waits for its detach through Describe, then spends one Delete', async () => {
    node = await awsNode({ strict: { consistencyWindowMs: 0 } });
    const n = node;
    const nic = await n.provider.createInterface({ subnetId: n.podSubnetId, initial: { kind: 'ip', count: 2 } });
    const started = n.clock.now();
    const describesBefore = answers(n, 'DescribeNetworkInterfaces').length;
    await n.provider.deleteInterface(nic.id);
    expect(ourInterfaces(n.cloud)).toEqual([]);
    // No token of the account's Delete bucket (5 a second) is spent on "is currently in use".
    expect(answers(n, 'DeleteNetworkInterface')).toEqual(['ok']);
    expect(answers(n, 'DescribeNetworkInterfaces').length - describesBefore).toBeGreaterThan(2);
    expect(n.clock.now() - started).toBeGreaterThanOrEqual(n.emu.realism.detachMs); // emulated time, not wall time
  });

  it('a detach slower than that wait: Delete retries the in-use answer until the detach completes', async () => {
    node = await awsNode({ strict: { consistencyWindowMs: 0, detachMs: 25_000 } });
    const n = node;
    const nic = await n.provider.createInterface({ subnetId: n.podSubnetId, initial: { kind: 'ip', count: 2 } });
    const started = n.clock.now();
    await n.provider.deleteInterface(nic.id);
    expect(ourInterfaces(n.cloud)).toEqual([]);
    const deletes = answers(n, 'DeleteNetworkInterface');
    expect(deletes.at(-1)).toBe('ok');
    expect(deletes.slice(0, -1).length).toBeGreaterThan(0);
    for (const code of deletes.slice(0, -1)) expect(code).toBe('InvalidParameterValue'); // "… is currently in use."
    expect(n.clock.now() - started).toBeGreaterThanOrEqual(n.emu.realism.detachMs); // emulated time, not wall time
  });

  it('an undo (attach succeeded, DeleteOnTermination failed) detaches, then deletes once detached', async () => {
    node = await awsNode({ strict: { consistencyWindowMs: 0 } });
    const n = node;
    n.emu.faults.failNext('ModifyNetworkInterfaceAttribute', 2, internal); // both SDK attempts
    const f = await failure(n.provider.createInterface({ subnetId: n.podSubnetId, initial: { kind: 'ip', count: 3 } }));
    expect(f).toMatchObject({ code: 'CLOUD_UNAVAILABLE', cloudCode: 'InternalError' });
    expect(ourInterfaces(n.cloud)).toEqual([]);
    expect(answers(n, 'DeleteNetworkInterface')).toEqual(['ok']); // after the detach, not during it
    expect(n.cloud.getSubnet(n.podSubnetId).availableAddresses).toBe(251);
  });
});

describe('AWS adapter on the strict emulator: eventual consistency', () => {
  it('create, attach, modify, assign, unassign, delete: each by-id call is retried past NotFound', async () => {
    node = await awsNode({ strict: { notFoundRatio: 1 } });
    const n = node;
    const nic = await n.provider.createInterface({ subnetId: n.podSubnetId, initial: { kind: 'ip', count: 2 } });
    const attached = { instanceId: n.instanceId, deleteOnTermination: true };
    expect(n.cloud.getInterface(nic.id).attachment).toMatchObject(attached);
    expect(answers(n, 'AttachNetworkInterface')).toContain('InvalidNetworkInterfaceID.NotFound');
    const added = await n.provider.assignAddresses(nic.id, { kind: 'ip', count: 2 });
    // Right after the assign EC2 does not see the ENI: an unassign must not take that NotFound for "gone".
    await n.provider.unassignAddresses(nic.id, added);
    const unassigns = answers(n, 'UnassignPrivateIpAddresses');
    expect(unassigns).toEqual(expect.arrayContaining(['InvalidNetworkInterfaceID.NotFound', 'ok']));
    const initial = nic.blocks.map((b) => b.cidr.replace('/32', '')).sort();
    expect(n.cloud.getInterface(nic.id).privateIps.sort()).toEqual(initial);
    await n.provider.deleteInterface(nic.id);
    expect(ourInterfaces(n.cloud)).toEqual([]);
    await n.provider.deleteInterface(nic.id); // gone, and known to be gone: no wait
  });

  it('a create whose undo meets NotFound deletes the ENI once EC2 sees it: nothing leaks', async () => {
    node = await awsNode({ strict: { notFoundRatio: 1 } });
    const n = node;
    const describes = ['DescribeInstances', 'DescribeNetworkInterfaces', 'DescribeSubnets'];
    n.emu.setIamPolicy(allowOnly([...describes, 'CreateNetworkInterface', 'CreateTags', 'DeleteNetworkInterface']));
    const f = await failure(n.provider.createInterface({ subnetId: n.podSubnetId, initial: { kind: 'ip', count: 1 } }));
    expect(f).toMatchObject({ code: 'CLOUD_UNAUTHORIZED' }); // the attach was refused
    expect(ourInterfaces(n.cloud)).toEqual([]);
    const deletes = answers(n, 'DeleteNetworkInterface');
    expect(deletes[0]).toBe('InvalidNetworkInterfaceID.NotFound'); // taken for "not visible yet", not for done
    expect(deletes.at(-1)).toBe('ok');
  });

  it('an ENI EC2 never shows within the wait is left, tagged, to the leak reclaim, with a log', async () => {
    // EC2 lags far longer than the provider waits: its undo cannot see the ENI to delete it.
    node = await awsNode({ strict: { notFoundRatio: 1, consistencyWindowMs: 60_000 } });
    const n = node;
    const logged: Array<{ o: object; m?: string }> = [];
    const log = { warn: () => {}, error: (o: object, m?: string) => logged.push({ o, m }), info: () => {} };
    const p = await AwsProvider.create({ ec2: n.ec2, imds: n.imds, clock: n.clock, log, visibilityWaitMs: 2_000 });
    const f = await failure(p.createInterface({ subnetId: n.podSubnetId, initial: { kind: 'ip', count: 1 } }));
    expect(f).toMatchObject({ code: 'CLOUD_NOT_FOUND' });
    const [left] = ourInterfaces(n.cloud);
    expect(left).toMatchObject({ status: 'available', tags: { [TAG_INSTANCE_ID]: n.instanceId } });
    const said = {
      o: expect.objectContaining({ eniId: left!.id }),
      m: expect.stringMatching(/leak reclaim will delete/),
    };
    expect(logged).toEqual([said]);
    await n.clock.sleep(60_000); // EC2 caught up
    expect(await p.reclaimLeakedInterfaces()).toEqual({ deleted: [left!.id], retrying: [] });
    expect(ourInterfaces(n.cloud)).toEqual([]);
  });
});

describe('AWS adapter on the strict emulator: "no room" in the generic wording', () => {
  it('is a full subnet for /32 requests and no free block for prefix requests', async () => {
    node = await awsNode({ strict: { capacityWording: 'generic', consistencyWindowMs: 0 } });
    const n = node;
    const p = n.provider;
    const nic = await p.createInterface({ subnetId: n.podSubnetId, initial: { kind: 'ip', count: 1 } });
    for (let b = 16; b < 240; b += 16) n.cloud.reserveCidr(n.podSubnetId, `10.0.2.${b + 7}/32`); // no aligned /28
    const generic = { cloudCode: 'InvalidParameterValue' };
    const prefix = await failure(p.assignAddresses(nic.id, { kind: 'prefix', count: 1 }));
    expect(prefix).toMatchObject({ ...generic, code: 'CLOUD_NO_PREFIX_BLOCK' });
    const prefixEni = p.createInterface({ subnetId: n.podSubnetId, initial: { kind: 'prefix', count: 1 } });
    expect(await failure(prefixEni)).toMatchObject({ ...generic, code: 'CLOUD_NO_PREFIX_BLOCK' });
    n.cloud.occupyRandom(n.podSubnetId, n.cloud.getSubnet(n.podSubnetId).availableAddresses);
    const ip = await failure(p.assignAddresses(nic.id, { kind: 'ip', count: 1 }));
    expect(ip).toMatchObject({ ...generic, code: 'CLOUD_SUBNET_FULL' });
    const ipEni = p.createInterface({ subnetId: n.podSubnetId, initial: { kind: 'ip', count: 1 } });
    expect(await failure(ipEni)).toMatchObject({ ...generic, code: 'CLOUD_SUBNET_FULL' });
    expect(ourInterfaces(n.cloud).map((x) => x.id)).toEqual([nic.id]); // the refused creates made nothing
  });
});
