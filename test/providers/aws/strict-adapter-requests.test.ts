/**
 * The AWS adapter against part B of the strict EC2 emulator (issue 13), with the real `@aws-sdk/client-ec2`
 * and no SDK call mocked: a create whose answers were lost is retried with its ClientToken and makes one ENI;
 * DryRun is never sent; RequestLimitExceeded is throttling, retried with jittered backoff before anything is
 * undone; IdempotentParameterMismatch and an unknown security group are final; multi-card types count card 0.
 */
import {
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  DescribeSubnetsCommand,
} from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../../ipamd/util/clock.js';
import { PendingCreates } from '../../../providers/aws/create-tokens.js';
import { retryTransient } from '../../../providers/aws/ec2-api.js';
import { CloudUnavailableError, InvalidCloudRequestError, ThrottledError } from '../../../providers/errors.js';
import { awsNode, failure, ourInterfaces, type AwsNode } from './helpers.js';

const nodes: AwsNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close();
});
async function start(o: Parameters<typeof awsNode>[0]): Promise<AwsNode> {
  const n = await awsNode(o);
  nodes.push(n);
  return n;
}
const requests = (n: AwsNode, action: string) => n.emu.requests.filter((r) => r.action === action);
const answers = (n: AwsNode, action: string) => requests(n, action).map((r) => r.code ?? 'ok');
const ipReq = (n: AwsNode) => ({ subnetId: n.podSubnetId, initial: { kind: 'ip' as const, count: 2 } });

describe('AWS adapter: ClientToken on create', () => {
  it('a create whose answers were all lost is retried with the same token: one ENI, attached', async () => {
    const n = await start({ strict: { consistencyWindowMs: 0 } }); // SDK attempts: 2, the production default
    n.emu.dropResponses('CreateNetworkInterface', 2); // EC2 made it, and neither SDK attempt heard back
    const lost = await failure(n.provider.createInterface(ipReq(n)));
    expect(lost).toMatchObject({ code: 'CLOUD_UNAVAILABLE', retryable: true });
    expect(ourInterfaces(n.cloud)).toHaveLength(1); // made once, left detached for now
    const nic = await n.provider.createInterface(ipReq(n)); // what ipamd's CloudCaller does next
    expect(ourInterfaces(n.cloud).map((x) => x.id)).toEqual([nic.id]);
    expect(n.cloud.getInterface(nic.id).attachment).toMatchObject({ instanceId: n.instanceId });
    const creates = requests(n, 'CreateNetworkInterface');
    expect(creates).toHaveLength(3);
    expect(new Set(creates.map((r) => r.clientToken)).size).toBe(1);
    const next = await n.provider.createInterface(ipReq(n)); // a new create gets a new token
    expect(next.id).not.toBe(nic.id);
    expect(requests(n, 'CreateNetworkInterface').at(-1)!.clientToken).not.toBe(creates[0]!.clientToken);
  });

  it('IdempotentParameterMismatch and a missing security group are final, and leave nothing', async () => {
    const n = await start({ strict: { consistencyWindowMs: 0 } });
    const send = (Description: string) => {
      const cmd = new CreateNetworkInterfaceCommand({ SubnetId: n.podSubnetId, Description, ClientToken: 'fixed' });
      return n.provider.api.call('CreateNetworkInterface', (c) => c.send(cmd));
    };
    await send('first');
    const mismatch = { code: 'CLOUD_INVALID', cloudCode: 'IdempotentParameterMismatch', retryable: false };
    expect(await failure(send('second'))).toMatchObject(mismatch);
    const missing = await failure(n.provider.createInterface({ ...ipReq(n), securityGroups: ['sg-0missing'] }));
    expect(missing).toMatchObject({ cloudCode: 'InvalidGroup.NotFound', retryable: false });
    expect(n.cloud.describeInterfaces({ subnetIds: [n.podSubnetId] })).toHaveLength(1); // the first, only
  });
});

describe('PendingCreates', () => {
  it('keeps an unfinished request for one attempt at a time; a refusal or the leak grace ends it', () => {
    let now = 0;
    const clock: Clock = { now: () => now, sleep: async () => {} };
    const p = new PendingCreates(clock, 1_000);
    const build = () => ({ SubnetId: 'subnet-1' });
    const init = { provider: 'aws', operation: 'CreateNetworkInterface', message: 'm' };
    const lost = new CloudUnavailableError({ ...init, cloudCode: 'TimeoutError' });
    const first = p.input('k', build);
    p.ended('k', first, lost);
    const retry = p.input('k', build);
    expect(retry).toBe(first); // the very request: token, tags and all
    expect(p.input('k', build).ClientToken).not.toBe(first.ClientToken); // one running alongside: its own
    p.ended('k', retry, new InvalidCloudRequestError({ ...init, cloudCode: 'InsufficientFreeAddressesInSubnet' }));
    expect(p.size).toBe(0);
    p.ended('k', first, lost);
    now = 1_000;
    expect(p.input('k', build).ClientToken).not.toBe(first.ClientToken); // expired with the grace
  });
});

describe('AWS adapter: DryRun is never sent', () => {
  it('the client refuses DryRun=true before the wire, and a whole lifecycle sends none', async () => {
    const n = await start({ strict: { consistencyWindowMs: 0 } });
    const before = n.emu.requests.length;
    const dryRun = new DescribeSubnetsCommand({ DryRun: true });
    const dry = await failure(n.provider.api.call('DescribeSubnets', (c) => c.send(dryRun)));
    expect(dry).toMatchObject({ code: 'CLOUD_INVALID', cloudCode: 'DryRunRefused' });
    expect(n.emu.requests.length).toBe(before);
    const nic = await n.provider.createInterface(ipReq(n));
    const added = await n.provider.assignAddresses(nic.id, { kind: 'ip', count: 1 });
    await n.provider.unassignAddresses(nic.id, added);
    await n.provider.deleteInterface(nic.id);
    expect(n.emu.requests.filter((r) => r.dryRun)).toEqual([]);
  });
});

describe('AWS adapter: RequestLimitExceeded', () => {
  it('is throttling; a throttled attach is retried with backoff, not undone', async () => {
    const n = await start({ strict: { consistencyWindowMs: 0 }, maxAttempts: 1 });
    const subnets = () => n.provider.listSubnets();
    for (let i = 0; i < 100; i++) await subnets();
    const throttled = { code: 'CLOUD_THROTTLED', cloudCode: 'RequestLimitExceeded', retryable: true };
    expect(await failure(subnets())).toMatchObject(throttled);
    // Empty the account's AttachNetworkInterface bucket (50 tokens; refused requests take one too).
    const target = { NetworkInterfaceId: 'eni-0dead', InstanceId: n.instanceId, DeviceIndex: 9 };
    const bogus = new AttachNetworkInterfaceCommand(target);
    for (let i = 0; i < 50; i++) await n.ec2.send(bogus).catch(() => undefined);
    const nic = await n.provider.createInterface(ipReq(n));
    const attached = { instanceId: n.instanceId, deleteOnTermination: true };
    expect(n.cloud.getInterface(nic.id).attachment).toMatchObject(attached);
    expect(answers(n, 'AttachNetworkInterface').slice(50)).toEqual(['RequestLimitExceeded', 'ok']);
    expect(answers(n, 'DeleteNetworkInterface')).toEqual([]); // nothing undone, no second create
    expect(answers(n, 'CreateNetworkInterface')).toEqual(['ok']);
  });

  it('retryTransient backs off from 1 s for throttles, doubling, half fixed and half jitter', async () => {
    const slept: number[] = [];
    const clock: Clock = { now: () => 0, sleep: async (ms) => void slept.push(ms) };
    const message = 'Request limit exceeded.';
    const init = { provider: 'aws', operation: 'x', cloudCode: 'RequestLimitExceeded', message };
    const throttle = new ThrottledError(init);
    let calls = 0;
    const fn = async () => {
      if (++calls < 4) throw throttle;
      return 'done';
    };
    const random = (() => {
      const draws = [0, 1, 0.5];
      return () => draws.shift()!;
    })();
    expect(await retryTransient(clock, fn, { random })).toBe('done');
    expect(slept).toEqual([500, 2_000, 3_000]); // 1 s → 0.5-1 s, 2 s → 1-2 s, 4 s → 2-4 s
  });
});

describe('AWS adapter: multi-card instance types', () => {
  it('uses card 0 only: its limit, its ENIs; another card is neither counted nor taken for IMDS lag', async () => {
    const n = await start({ instanceType: 'p4d.24xlarge' });
    expect(await n.provider.getLimits('p4d.24xlarge')).toMatchObject({ maxInterfaces: 15 });
    const p4d = await n.provider.getLimits('p4d.24xlarge');
    n.cloud.defineInstanceType({ ...p4d, instanceType: 'z9.cards', maxInterfaces: 4, networkCards: 2 });
    // Not in the table: read from DescribeInstanceTypes, per card (4), not the total (8).
    expect(await n.provider.getLimits('z9.cards')).toMatchObject({ maxInterfaces: 4 });
    const efa = n.cloud.createInterface({ subnetId: n.nodeSubnetId });
    const onCard1 = { NetworkInterfaceId: efa.id, InstanceId: n.instanceId, DeviceIndex: 1, NetworkCardIndex: 1 };
    await n.ec2.send(new AttachNetworkInterfaceCommand(onCard1));
    for (let i = 0; i < 14; i++) await n.provider.createInterface({ subnetId: n.podSubnetId });
    const inv = await n.provider.describeNode();
    expect(inv.interfaces).toHaveLength(15);
    expect(inv.interfaces.map((x) => x.id)).not.toContain(efa.id);
    expect(n.provider.stats.imdsAhead).toBe(0);
    const creates = answers(n, 'CreateNetworkInterface').length;
    const full = await failure(n.provider.createInterface({ subnetId: n.podSubnetId }));
    expect(full).toMatchObject({ code: 'CLOUD_NIC_LIMIT' });
    expect(answers(n, 'CreateNetworkInterface')).toHaveLength(creates); // refused before any mutating call
  });
});
