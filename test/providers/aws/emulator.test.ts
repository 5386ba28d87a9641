/**
 * The EC2 + IMDSv2 emulator on the wire, driven by the real
 * `@aws-sdk/client-ec2` (no provider in between): filters, pagination, live
 * subnet counts, every address form of Assign/Unassign, EC2's error codes and
 * statuses, the IMDS token protocol, the per-MAC tree and its lag.
 */
import {
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  type AssignPrivateIpAddressesCommandInput,
  CreateNetworkInterfaceCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSubnetsCommand,
  UnassignPrivateIpAddressesCommand,
  type UnassignPrivateIpAddressesCommandInput,
  paginateDescribeNetworkInterfaces,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { CAPACITY_SHORTAGE_MESSAGE } from '../../../providers/aws/emulator/context.js';
import { allowOnly } from '../../../providers/aws/emulator/iam-policy.js';
import { ThrottledError, UnauthorizedError } from '../../../providers/errors.js';
import { awsNode, pastNotFound, TEST_GROUP, type AwsNode } from './helpers.js';

let node: AwsNode;
afterEach(async () => node?.close());

async function rawError(
  p: Promise<unknown>,
): Promise<{ name: string; message: string; status?: number; requestId?: string; attempts?: number }> {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number } };
    return {
      name: e.name,
      message: e.message,
      status: e.$metadata?.httpStatusCode,
      requestId: e.$metadata?.requestId,
      attempts: e.$metadata?.attempts,
    };
  }
  throw new Error('expected an EC2 error');
}

async function createEni(ec2: EC2Client, subnetId: string, extra: Record<string, unknown> = {}) {
  const out = await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, Groups: [TEST_GROUP], ...extra }));
  return out.NetworkInterface!;
}

/** An aligned /28 of the subnet (10.0.2.0/24) with nothing in it. */
function freeAlignedBlock(n: AwsNode, subnetId: string): string {
  const used = n.cloud.subnetAllocations(subnetId).used.map((c) => Number(c.split('/')[0]!.split('.')[3]));
  for (let b = 16; b < 240; b += 16) if (!used.some((u) => u >= b && u < b + 16)) return `10.0.2.${b}/28`;
  throw new Error('no free /28 left');
}

async function imdsGet(endpoint: string, path: string, token?: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${endpoint}${path}`, { headers: token ? { 'x-aws-ec2-metadata-token': token } : {} });
  return { status: res.status, body: await res.text() };
}

async function imdsToken(endpoint: string, ttl = '60'): Promise<string> {
  const res = await fetch(`${endpoint}/latest/api/token`, {
    method: 'PUT',
    headers: { 'x-aws-ec2-metadata-token-ttl-seconds': ttl },
  });
  expect(res.status).toBe(200);
  return res.text();
}

describe('EC2 Query API emulator', () => {
  it('filters (OR within, AND across, wildcards, tags) and paginates DescribeNetworkInterfaces', async () => {
    node = await awsNode({ maxAttempts: 1 });
    const { ec2, podSubnetId, nodeSubnetId } = node;
    for (let i = 0; i < 12; i++) {
      await createEni(ec2, i % 2 ? podSubnetId : nodeSubnetId, {
        TagSpecifications: [
          { ResourceType: 'network-interface', Tags: [{ Key: 'team/a', Value: i < 6 ? 'red' : 'blue' }] },
        ],
      });
    }
    const both = await ec2.send(
      new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'subnet-id', Values: [podSubnetId, nodeSubnetId] }] }),
    );
    expect(both.NetworkInterfaces).toHaveLength(13); // 12 + the node's primary
    const redInPod = await ec2.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [
          { Name: 'subnet-id', Values: [podSubnetId] },
          { Name: 'tag:team/a', Values: ['re*'] },
        ],
      }),
    );
    expect(redInPod.NetworkInterfaces!.map((n) => n.TagSet?.[0]?.Value)).toEqual(['red', 'red', 'red']);
    const pages: number[] = [];
    let total = 0;
    for await (const page of paginateDescribeNetworkInterfaces(
      { client: ec2, pageSize: 5 },
      { Filters: [{ Name: 'tag-key', Values: ['team/a'] }] },
    )) {
      pages.push(page.NetworkInterfaces!.length);
      total += page.NetworkInterfaces!.length;
    }
    expect(pages).toEqual([5, 5, 2]);
    expect(total).toBe(12);
    const bad = await rawError(
      ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] })),
    );
    expect(bad).toMatchObject({ name: 'InvalidParameterValue', status: 400 });
    const combo = await rawError(
      ec2.send(
        new DescribeNetworkInterfacesCommand({
          NetworkInterfaceIds: [both.NetworkInterfaces![0]!.NetworkInterfaceId!],
          MaxResults: 5,
        }),
      ),
    );
    expect(combo.name).toBe('InvalidParameterCombination');
    const missing = await rawError(
      ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-0000000000000dead'] })),
    );
    expect(missing).toMatchObject({
      name: 'InvalidNetworkInterfaceID.NotFound',
      status: 400,
      message: "The networkInterface ID 'eni-0000000000000dead' does not exist",
    });
    expect(missing.requestId).toMatch(/^[0-9a-f-]{36}$/); // from the x-amzn-requestid header
  });

  it('assigns and unassigns counts, named IPs, prefix counts and named prefixes; subnets count live', async () => {
    node = await awsNode({ maxAttempts: 1 });
    const { ec2, podSubnetId } = node;
    const free = async () =>
      (await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [podSubnetId] }))).Subnets![0]!.AvailableIpAddressCount;
    expect(await free()).toBe(251); // a /24 minus EC2's 5 reserved
    const eni = await createEni(ec2, podSubnetId, { SecondaryPrivateIpAddressCount: 2 });
    expect(eni.PrivateIpAddresses).toHaveLength(3);
    expect(eni.Status).toBe('pending');
    expect(await free()).toBe(248);
    const id = eni.NetworkInterfaceId!;
    // Each call names an ENI just made or changed: EC2 may not see it yet (eventual consistency), so it is retried.
    type Addresses = Omit<AssignPrivateIpAddressesCommandInput, 'NetworkInterfaceId'>;
    const assign = (a: Addresses) =>
      pastNotFound(node, () => ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: id, ...a })));
    const unassign = (a: Omit<UnassignPrivateIpAddressesCommandInput, 'NetworkInterfaceId'>) =>
      pastNotFound(node, () => ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: id, ...a })));
    const byCount = await assign({ SecondaryPrivateIpAddressCount: 2 });
    expect(byCount.AssignedPrivateIpAddresses).toHaveLength(2);
    const named = await assign({ PrivateIpAddresses: ['10.0.2.250'] });
    expect(named.AssignedPrivateIpAddresses).toEqual([{ PrivateIpAddress: '10.0.2.250' }]);
    const prefixes = await assign({ Ipv4PrefixCount: 2 });
    expect(prefixes.AssignedIpv4Prefixes).toHaveLength(2);
    for (const p of prefixes.AssignedIpv4Prefixes!) expect(p.Ipv4Prefix).toMatch(/^10\.0\.2\.\d+\/28$/);
    const freeBlock = freeAlignedBlock(node, podSubnetId);
    const namedPrefix = await assign({ Ipv4Prefixes: [freeBlock] });
    expect(namedPrefix.AssignedIpv4Prefixes).toEqual([{ Ipv4Prefix: freeBlock }]);
    expect(await free()).toBe(248 - 3 - 48);
    await unassign({ PrivateIpAddresses: ['10.0.2.250'], Ipv4Prefixes: [freeBlock] });
    expect(await free()).toBe(248 - 2 - 32);
    const notMine = await rawError(unassign({ Ipv4Prefixes: [freeBlock] }));
    expect(notMine.name).toBe('InvalidParameterValue');
    // Per-interface slots count once attached: m5.large allows 10 addresses (primary included).
    const attach = { NetworkInterfaceId: id, InstanceId: node.instanceId, DeviceIndex: 1 };
    await pastNotFound(node, () => ec2.send(new AttachNetworkInterfaceCommand(attach)));
    const over = await rawError(assign({ SecondaryPrivateIpAddressCount: 4 }));
    expect(over).toMatchObject({ name: 'PrivateIpAddressLimitExceeded', status: 400 });
  });

  it('answers exhaustion, limits, IAM denials and throttling the way EC2 does', async () => {
    node = await awsNode({ maxAttempts: 1 });
    const { ec2, cloud, emu, podSubnetId, nodeSubnetId, instanceId } = node;
    // Fragment the Pod subnet: one address taken in every /28, so addresses remain but no aligned block.
    for (let b = 16; b < 240; b += 16) cloud.reserveCidr(podSubnetId, `10.0.2.${b + 5}/32`);
    const frag = await rawError(createEni(ec2, podSubnetId, { Ipv4PrefixCount: 1 }));
    expect(frag).toMatchObject({ name: 'InsufficientCidrBlocks', status: 400 });
    emu.setCapacityWording('generic');
    const variant = await rawError(createEni(ec2, podSubnetId, { Ipv4PrefixCount: 1 }));
    expect(variant).toMatchObject({ name: 'InvalidParameterValue', message: CAPACITY_SHORTAGE_MESSAGE });
    // EC2 words a /32 request it cannot fit the same way.
    const fullGeneric = await rawError(createEni(ec2, podSubnetId, { SecondaryPrivateIpAddressCount: 400 }));
    expect(fullGeneric).toMatchObject({
      name: 'InvalidParameterValue',
      message: CAPACITY_SHORTAGE_MESSAGE,
      status: 400,
    });
    emu.setCapacityWording('specific');
    const full = await rawError(createEni(ec2, podSubnetId, { SecondaryPrivateIpAddressCount: 400 }));
    expect(full.name).toBe('InsufficientFreeAddressesInSubnet');
    // Each attach names an ENI just made: EC2 may not see it yet (eventual consistency), so it is retried.
    const attach = (e: { NetworkInterfaceId?: string }, DeviceIndex: number) => {
      const input = { NetworkInterfaceId: e.NetworkInterfaceId, InstanceId: instanceId, DeviceIndex };
      return pastNotFound(node, () => ec2.send(new AttachNetworkInterfaceCommand(input)));
    };
    for (const device of [1, 2]) await attach(await createEni(ec2, nodeSubnetId), device);
    const fourth = await createEni(ec2, nodeSubnetId);
    const limit = await rawError(attach(fourth, 3));
    expect(limit).toMatchObject({
      name: 'AttachmentLimitExceeded',
      message: 'Interface count 4 exceeds the limit for m5.large',
    });
    emu.setIamPolicy(allowOnly(['DescribeNetworkInterfaces']));
    const denied = await rawError(createEni(ec2, nodeSubnetId));
    expect(denied).toMatchObject({ name: 'UnauthorizedOperation', status: 403 });
    emu.setIamPolicy(undefined);
    emu.faults.failNext(
      'CreateNetworkInterface',
      1,
      (a) =>
        new ThrottledError({
          provider: 'aws',
          operation: a,
          cloudCode: 'RequestLimitExceeded',
          message: 'Request limit exceeded.',
        }),
    );
    const throttled = await rawError(createEni(ec2, nodeSubnetId));
    expect(throttled).toMatchObject({ name: 'RequestLimitExceeded', status: 503 });
    emu.faults.failNext(
      'DescribeSubnets',
      1,
      (a) =>
        new UnauthorizedError({ provider: 'aws', operation: a, cloudCode: 'UnauthorizedOperation', message: 'no' }),
    );
    expect((await rawError(ec2.send(new DescribeSubnetsCommand({})))).status).toBe(403);
    expect(emu.requests.filter((r) => r.code === 'RequestLimitExceeded').map((r) => r.status)).toEqual([503]);
  });

  it('throttles a seeded fraction of requests in storm mode', async () => {
    node = await awsNode({ maxAttempts: 1, emulator: { throttleRatio: 0.3, seed: 42 } });
    let throttled = 0;
    for (let i = 0; i < 200; i++) {
      await node.ec2.send(new DescribeSubnetsCommand({})).catch((err: Error) => {
        expect(err.name).toBe('RequestLimitExceeded');
        throttled++;
      });
      // At the bucket's refill rate (20/s), as a paced client: only the storm's dice throttle, not the bucket.
      await node.clock.sleep(50);
    }
    // 30 % of 200 is 60; a seeded run lands close to it (binomial sd ≈ 6.5).
    expect(throttled).toBeGreaterThan(40);
    expect(throttled).toBeLessThan(80);
    expect(node.emu.counts().DescribeSubnets).toBe(200);
  });
});

describe('IMDSv2 emulator', () => {
  it('requires a session token, validates its TTL, and normalises // paths', async () => {
    node = await awsNode();
    const { endpoint } = node.emu;
    expect((await imdsGet(endpoint, '/latest/meta-data/instance-id')).status).toBe(401);
    expect((await imdsGet(endpoint, '/latest/meta-data/instance-id', 'not-a-token')).status).toBe(401);
    const badTtl = await fetch(`${endpoint}/latest/api/token`, {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '0' },
    });
    expect(badTtl.status).toBe(400);
    const proxied = await fetch(`${endpoint}/latest/api/token`, {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60', 'x-forwarded-for': '1.2.3.4' },
    });
    expect(proxied.status).toBe(403);
    const token = await imdsToken(endpoint);
    expect(await imdsGet(endpoint, '//latest/meta-data/instance-id', token)).toEqual({
      status: 200,
      body: node.instanceId,
    });
    expect((await imdsGet(endpoint, '/latest/meta-data/no-such-thing', token)).status).toBe(404);
  });

  it('derives the per-MAC tree from the same cloud, and lags EC2 by the configured delay', async () => {
    node = await awsNode({ emulator: { imdsDelayMs: 400 } });
    const { endpoint } = node.emu;
    const token = await imdsToken(endpoint);
    const inst = node.cloud.getInstance(node.instanceId);
    const primary = inst.interfaces[0]!;
    expect((await imdsGet(endpoint, '/latest/meta-data/mac', token)).body).toBe(primary.mac);
    expect((await imdsGet(endpoint, '/latest/meta-data/instance-type', token)).body).toBe('m5.large');
    expect((await imdsGet(endpoint, '/latest/meta-data/placement/availability-zone', token)).body).toBe('us-east-1a');
    const base = `/latest/meta-data/network/interfaces/macs/${primary.mac}/`;
    const fields = (await imdsGet(endpoint, base, token)).body.split('\n');
    expect(fields).toEqual(
      expect.arrayContaining([
        'device-number',
        'interface-id',
        'local-ipv4s',
        'security-group-ids',
        'subnet-id',
        'subnet-ipv4-cidr-block',
        'vpc-ipv4-cidr-blocks',
      ]),
    );
    expect(fields).not.toContain('ipv4-prefix'); // no prefixes yet: left out of the listing
    expect((await imdsGet(endpoint, `${base}device-number`, token)).body).toBe('0');
    expect((await imdsGet(endpoint, `${base}subnet-ipv4-cidr-block`, token)).body).toBe('10.0.1.0/24');
    expect((await imdsGet(endpoint, `${base}network-card`, token)).status).toBe(404);
    await node.ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: primary.id, Ipv4PrefixCount: 1 }));
    const prefix = node.cloud.getInterface(primary.id).prefixes[0]!;
    // EC2 has the prefix now; IMDS shows it only after the delay.
    expect((await imdsGet(endpoint, `${base}ipv4-prefix`, token)).status).toBe(404);
    await node.clock.sleep(450); // the emulator's clock, shared with the node
    expect((await imdsGet(endpoint, `${base}ipv4-prefix`, token)).body).toBe(prefix);
    expect((await imdsGet(endpoint, `${base}local-ipv4s`, token)).body).toBe(primary.primaryIp);
    // A pinned view is served whatever EC2 does (a stale IMDS after a reboot).
    const stale = node.emu.imds.currentView();
    node.emu.imds.pin({ ...stale, interfaces: [] });
    expect((await imdsGet(endpoint, '/latest/meta-data/network/interfaces/macs/', token)).body).toBe('');
    node.emu.imds.unpin();
    expect((await imdsGet(endpoint, '/latest/meta-data/network/interfaces/macs/', token)).body).toBe(`${primary.mac}/`);
  });
});
