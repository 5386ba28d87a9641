/**
 * The strict EC2 emulator on the wire (issue 13), driven by the real `@aws-sdk/client-ec2`: each behaviour
 * that makes it as unkind as EC2, with the emulate mode's defaults, on a JumpClock (seconds pass at once):
 * asynchronous attach/detach and the in-use answer to Delete, eventual consistency after
 * Create/Assign/Attach, both wordings of "no room" for /32s and prefixes, and IMDS lagging 1-5 s.
 */
import {
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  DeleteNetworkInterfaceCommand,
  DescribeNetworkInterfacesCommand,
  DetachNetworkInterfaceCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { CAPACITY_SHORTAGE_MESSAGE } from '../../../providers/aws/emulator/context.js';
import { startEmulatedNode } from '../../../providers/aws/emulator/node.js';
import { EMULATE_REALISM, INSTANT, parseRealism } from '../../../providers/aws/emulator/realism.js';
import type { AwsEmulator } from '../../../providers/aws/emulator/server.js';
import { awsNode, sdkAnswer, waitOnClock, type AwsNode } from './helpers.js';

let node: AwsNode | undefined;
let emu: AwsEmulator | undefined;
afterEach(async () => {
  await node?.close();
  await emu?.close();
  node = emu = undefined;
});

const answer = sdkAnswer;

async function create(ec2: EC2Client, subnetId: string, extra: Record<string, unknown> = {}): Promise<string> {
  const out = await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, ...extra }));
  return out.NetworkInterface!.NetworkInterfaceId!;
}
const describe1 = async (ec2: EC2Client, id: string) =>
  (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] }))).NetworkInterfaces![0]!;
const attach = (ec2: EC2Client, id: string, instanceId: string) =>
  ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: id, InstanceId: instanceId, DeviceIndex: 1 }));
const del = (ec2: EC2Client, id: string) =>
  answer(ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id })));
const assignOne = (ec2: EC2Client, id: string) =>
  ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: id, SecondaryPrivateIpAddressCount: 1 }));

describe('strict EC2 emulator: attach and detach take time', () => {
  it('attaching → attached, detaching → available; Delete answers "is currently in use" until then', async () => {
    node = await awsNode({ strict: { consistencyWindowMs: 0 }, maxAttempts: 1 });
    const { ec2, clock, instanceId, podSubnetId } = node;
    const id = await create(ec2, podSubnetId);
    const { AttachmentId } = await attach(ec2, id, instanceId);
    expect(await describe1(ec2, id)).toMatchObject({ Status: 'in-use', Attachment: { Status: 'attaching' } });
    const message = `Network interface '${id}' is currently in use.`;
    const inUse = { name: 'InvalidParameterValue', status: 400, message };
    expect(await del(ec2, id)).toEqual(inUse);
    await clock.sleep(EMULATE_REALISM.attachMs);
    expect(await describe1(ec2, id)).toMatchObject({ Status: 'in-use', Attachment: { Status: 'attached' } });
    expect(await del(ec2, id)).toEqual(inUse);
    await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId }));
    expect(await describe1(ec2, id)).toMatchObject({ Status: 'in-use', Attachment: { Status: 'detaching' } });
    expect(await del(ec2, id)).toEqual(inUse);
    // Still counted on the instance while detaching: its device index is taken.
    const other = await create(ec2, podSubnetId);
    const taken = await answer(attach(ec2, other, instanceId));
    expect(taken).toMatchObject({ name: 'InvalidParameterValue', status: 400 });
    await clock.sleep(EMULATE_REALISM.detachMs);
    expect((await describe1(ec2, id)).Status).toBe('available');
    expect((await describe1(ec2, id)).Attachment).toBeUndefined();
    expect(await del(ec2, id)).toMatchObject({ name: 'ok' });
    expect(node.emu.requests.map((r) => r.code).filter(Boolean)).not.toContain('InvalidNetworkInterface.InUse');
  });

  it('an attaching interface is not in IMDS; the attached one shows up after the IMDS lag', async () => {
    node = await awsNode({ strict: { consistencyWindowMs: 0, imdsLagMs: { min: 1_000, max: 1_000 } }, maxAttempts: 1 });
    const { ec2, clock, imds, instanceId, podSubnetId } = node;
    const id = await create(ec2, podSubnetId);
    await attach(ec2, id, instanceId);
    const mac = (await describe1(ec2, id)).MacAddress!;
    await clock.sleep(EMULATE_REALISM.attachMs - 1);
    expect(await imds.list('network/interfaces/macs/')).not.toContain(mac); // still attaching
    await clock.sleep(1 + 999); // attached 999 ms ago: IMDS is 1 s behind
    expect(await imds.list('network/interfaces/macs/')).not.toContain(mac);
    await clock.sleep(1);
    expect(await imds.list('network/interfaces/macs/')).toContain(mac);
  });
});

describe('strict EC2 emulator: eventual consistency', () => {
  it('right after Create, Attach and Assign, by-id calls may be NotFound; after the window they are not', async () => {
    node = await awsNode({ strict: { notFoundRatio: 1 }, maxAttempts: 1 });
    const { ec2, clock, instanceId, podSubnetId } = node;
    const id = await create(ec2, podSubnetId);
    const message = `The networkInterface ID '${id}' does not exist`;
    const notFound = { name: 'InvalidNetworkInterfaceID.NotFound', status: 400, message };
    expect(await answer(describe1(ec2, id))).toEqual(notFound);
    expect(await answer(attach(ec2, id, instanceId))).toEqual(notFound);
    expect(await del(ec2, id)).toEqual(notFound);
    // A filtered Describe sees it: only calls naming the id are affected.
    const Filters = [{ Name: 'subnet-id', Values: [podSubnetId] }];
    const all = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters }));
    expect(all.NetworkInterfaces!.map((n) => n.NetworkInterfaceId)).toContain(id);
    expect(node.cloud.getInterface(id).attachment).toBeUndefined(); // the refused calls changed nothing
    await clock.sleep(EMULATE_REALISM.consistencyWindowMs);
    expect(await answer(attach(ec2, id, instanceId))).toMatchObject({ name: 'ok' });
    expect(await answer(assignOne(ec2, id))).toEqual(notFound); // the attach opened a new window
    await clock.sleep(EMULATE_REALISM.consistencyWindowMs);
    expect(await answer(assignOne(ec2, id))).toMatchObject({ name: 'ok' });
    expect(await answer(assignOne(ec2, id))).toEqual(notFound); // and so did the assign
  });

  it('the dice are seeded: the same seed answers the same calls the same way', async () => {
    const run = async (seed: number) => {
      const n = await awsNode({ strict: true, maxAttempts: 1, emulator: { seed } });
      try {
        const id = await create(n.ec2, n.podSubnetId);
        const out: string[] = [];
        for (let i = 0; i < 12; i++) out.push((await answer(describe1(n.ec2, id))).name);
        return out;
      } finally {
        await n.close();
      }
    };
    const first = await run(5);
    expect(await run(5)).toEqual(first);
    // The default ratio (0.5) answers some calls NotFound and lets others through.
    expect(new Set(first)).toEqual(new Set(['ok', 'InvalidNetworkInterfaceID.NotFound']));
  });
});

describe('strict EC2 emulator: the wordings of "no room"', () => {
  it('generic for /32s and prefixes, specific, or mixed (seeded)', async () => {
    node = await awsNode({ strict: { capacityWording: 'generic', consistencyWindowMs: 0 }, maxAttempts: 1 });
    const { ec2, cloud, emu: e, podSubnetId } = node;
    for (let b = 16; b < 240; b += 16) cloud.reserveCidr(podSubnetId, `10.0.2.${b + 5}/32`); // no aligned /28 left
    const generic = { name: 'InvalidParameterValue', status: 400, message: CAPACITY_SHORTAGE_MESSAGE };
    expect(await answer(create(ec2, podSubnetId, { Ipv4PrefixCount: 1 }))).toEqual(generic);
    expect(await answer(create(ec2, podSubnetId, { SecondaryPrivateIpAddressCount: 400 }))).toEqual(generic);
    const id = await create(ec2, podSubnetId);
    cloud.occupyRandom(podSubnetId, cloud.getSubnet(podSubnetId).availableAddresses);
    const assignIp = () => answer(assignOne(ec2, id));
    expect(await assignIp()).toEqual(generic);
    e.setCapacityWording('specific');
    expect(await assignIp()).toMatchObject({ name: 'InsufficientFreeAddressesInSubnet', status: 400 });
    const noPrimary = await answer(create(ec2, podSubnetId, { Ipv4PrefixCount: 1 }));
    expect(noPrimary).toMatchObject({ name: 'InsufficientFreeAddressesInSubnet' });
    e.setCapacityWording('mixed');
    const names = new Set<string>();
    for (let i = 0; i < 12; i++) names.add((await assignIp()).name);
    expect(names).toEqual(new Set(['InvalidParameterValue', 'InsufficientFreeAddressesInSubnet']));
  });
});

describe('strict EC2 emulator: IMDS lags EC2', () => {
  it('by 1-5 s, jittered per change', async () => {
    node = await awsNode({ strict: { consistencyWindowMs: 0 }, maxAttempts: 1 });
    const { ec2, clock, imds, instanceId } = node;
    const primary = node.cloud.getInstance(instanceId).interfaces[0]!;
    const path = `network/interfaces/macs/${primary.mac}/local-ipv4s`;
    const lags: number[] = [];
    for (let i = 1; i <= 5; i++) {
      await assignOne(ec2, primary.id);
      const start = clock.now();
      await waitOnClock(node, `IMDS shows address ${i}`, async () => (await imds.list(path)).length >= 1 + i);
      lags.push(clock.now() - start);
    }
    for (const lag of lags) {
      expect(lag).toBeGreaterThanOrEqual(EMULATE_REALISM.imdsLagMs.min);
      expect(lag).toBeLessThanOrEqual(EMULATE_REALISM.imdsLagMs.max + 100);
    }
    expect(new Set(lags).size).toBeGreaterThan(1);
  });
});

describe('emulate mode', () => {
  it('is strict by default; the text form turns each knob', async () => {
    emu = await startEmulatedNode({ instanceType: 'm5.large', subnetCidr: '10.0.0.0/24' });
    expect(emu.realism).toEqual(EMULATE_REALISM);
    expect(parseRealism('off', 'X')).toEqual(INSTANT);
    const text =
      'attach=500,detach=700,consistency=0,notfound=0.25,imds=200-800,wording=generic,buckets=off,groups=off';
    const r = parseRealism(text, 'X');
    const imdsLagMs = { min: 200, max: 800 };
    const times = { attachMs: 500, detachMs: 700, consistencyWindowMs: 0 };
    const checks = { requestBuckets: false, validateGroups: false };
    expect(r).toEqual({ ...times, notFoundRatio: 0.25, imdsLagMs, capacityWording: 'generic', ...checks });
    const tenth = { attachMs: 200, detachMs: 300, imdsLagMs: { min: 100, max: 500 } };
    expect(parseRealism('scale=0.1', 'X')).toMatchObject(tenth);
    expect(() => parseRealism('attach=soon', 'X')).toThrow(/attach must be a number/);
    expect(() => parseRealism('imds=5-1', 'X')).toThrow(/MIN-MAX/);
    expect(() => parseRealism('lag=1', 'X')).toThrow(/unknown key "lag"/);
    expect(() => parseRealism('buckets=yes', 'X')).toThrow(/buckets must be on or off/);
  });
});
