/**
 * The strict EC2 emulator on the wire, part B of issue 13, driven by the real `@aws-sdk/client-ec2` (retries
 * off unless said): per-account, per-API token buckets at EC2's documented sizes, DryRun, ClientToken
 * idempotency, security-group checks, UnauthorizedOperation with an encoded message, and multi-card types.
 */
import {
  EC2Client,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  DeleteNetworkInterfaceCommand,
  DescribeInstanceTypesCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSubnetsCommand,
  DetachNetworkInterfaceCommand,
  ModifyNetworkInterfaceAttributeCommand,
} from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeAuthorizationMessage, DRY_RUN_MESSAGE } from '../../../providers/aws/emulator/authorization.js';
import { allowOnly } from '../../../providers/aws/emulator/iam-policy.js';
import { IDEMPOTENT_MISMATCH } from '../../../providers/aws/emulator/idempotency.js';
import { EMULATOR_CREDENTIALS } from '../../../providers/aws/ec2-client.js';
import { bucketOf, MUTATING, NON_MUTATING, UNFILTERED_NON_MUTATING } from '../../../providers/aws/emulator/throttle.js';
import { QueryParams } from '../../../providers/aws/emulator/query.js';
import { awsNode, pastNotFound, sdkAnswer, waitOnClock, type AwsNode } from './helpers.js';

const nodes: AwsNode[] = [];
const clients: EC2Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  for (const n of nodes.splice(0)) await n.close();
});
async function start(o: Parameters<typeof awsNode>[0]): Promise<AwsNode> {
  const n = await awsNode({ maxAttempts: 1, ...o });
  nodes.push(n);
  return n;
}

const answer = sdkAnswer;

/** Sends `n` copies of a call in a row; the names of the answers, counted. */
async function burst(n: number, call: () => Promise<unknown>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const { name } = await answer(call());
    out[name] = (out[name] ?? 0) + 1;
  }
  return out;
}

const create = (ec2: EC2Client, input: Record<string, unknown>) =>
  ec2.send(new CreateNetworkInterfaceCommand(input as never));
const THROTTLED = { name: 'RequestLimitExceeded', status: 503, message: 'Request limit exceeded.' };

describe('strict EC2 emulator: request token buckets (AWS "Request throttling for the Amazon EC2 API")', () => {
  it('sorts actions into EC2 categories: non-mutating, unfiltered, mutating, uncategorized', () => {
    const q = (body: string) => new QueryParams(body);
    expect(bucketOf('DescribeSubnets', q(''))).toEqual({ key: 'DescribeSubnets', limit: NON_MUTATING });
    expect(bucketOf('DescribeInstances', q('InstanceId.1=i-1'))).toMatchObject({ limit: UNFILTERED_NON_MUTATING });
    expect(bucketOf('DescribeInstances', q('Filter.1.Name=instance-id'))).toMatchObject({ limit: NON_MUTATING });
    expect(bucketOf('DescribeNetworkInterfaces', q('MaxResults=1000'))).toMatchObject({ limit: NON_MUTATING });
    expect(bucketOf('AttachNetworkInterface', q(''))).toEqual({ key: 'AttachNetworkInterface', limit: MUTATING });
    expect(bucketOf('CreateNetworkInterface', q('')).limit).toEqual({ burst: 100, rate: 5 });
    expect(bucketOf('CreateTags', q('')).limit).toEqual({ burst: 100, rate: 10 });
    expect([NON_MUTATING, UNFILTERED_NON_MUTATING, MUTATING]).toEqual([
      { burst: 100, rate: 20 },
      { burst: 50, rate: 10 },
      { burst: 50, rate: 5 },
    ]);
  });

  it('per API: 100 DescribeSubnets pass, the 101st is 503 RequestLimitExceeded; other APIs go on', async () => {
    const n = await start({ strict: true });
    const subnets = () => n.ec2.send(new DescribeSubnetsCommand({}));
    expect(await burst(101, subnets)).toEqual({ ok: 100, RequestLimitExceeded: 1 });
    expect(await answer(subnets())).toEqual(THROTTLED);
    const types = await answer(n.ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['m5.large'] })));
    expect(types.name).toBe('ok'); // its own bucket
    await n.clock.sleep(50); // 20 tokens a second: one is back after 50 ms
    expect(await burst(2, subnets)).toEqual({ ok: 1, RequestLimitExceeded: 1 });
    expect(n.emu.account.buckets.throttled()).toEqual({ DescribeSubnets: 3 });
  });

  it('unfiltered, unpaged DescribeInstances takes from the 50-token bucket, a filtered one from the 100', async () => {
    const n = await start({ strict: true });
    const byId = () => n.ec2.send(new DescribeInstancesCommand({ InstanceIds: [n.instanceId] }));
    expect(await burst(51, byId)).toEqual({ ok: 50, RequestLimitExceeded: 1 });
    const Filters = [{ Name: 'instance-id', Values: [n.instanceId] }];
    expect((await answer(n.ec2.send(new DescribeInstancesCommand({ Filters })))).name).toBe('ok');
  });

  it('mutating actions: 50 tokens, refilled 5 a second; a refused request costs one too', async () => {
    const n = await start({ strict: true });
    const AttachmentId = 'eni-attach-0000000000000dead';
    const detach = () => n.ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId }));
    expect(await burst(51, detach)).toEqual({ 'InvalidAttachmentID.NotFound': 50, RequestLimitExceeded: 1 });
    await n.clock.sleep(1_000);
    expect(await burst(6, detach)).toEqual({ 'InvalidAttachmentID.NotFound': 5, RequestLimitExceeded: 1 });
  });

  it('per account: two nodes of one account share the buckets', async () => {
    const a = await start({ strict: true });
    const other = a.cloud.seedNode({ instanceType: 'm5.large', subnetCidr: '10.0.1.0/24' });
    const b = await start({ strict: true, cloud: a.cloud, instanceId: other });
    expect(await burst(100, () => a.ec2.send(new DescribeSubnetsCommand({})))).toEqual({ ok: 100 });
    expect(await answer(b.ec2.send(new DescribeSubnetsCommand({})))).toEqual(THROTTLED);
    const off = await start({ strict: { requestBuckets: false }, cloud: a.cloud, instanceId: other });
    expect((await answer(off.ec2.send(new DescribeSubnetsCommand({})))).name).toBe('ok'); // the knob
  });
});

describe('strict EC2 emulator: DryRun', () => {
  it('answers 412 DryRunOperation and changes nothing; UnauthorizedOperation when the policy denies', async () => {
    const n = await start({ strict: true });
    // A bare SDK client: the provider's (createEc2Client) refuses DryRun before sending it.
    const credentials = { ...EMULATOR_CREDENTIALS };
    const ec2 = new EC2Client({ region: 'us-east-1', endpoint: n.emu.endpoint, credentials, maxAttempts: 1 });
    clients.push(ec2);
    const dry = await answer(create(ec2, { SubnetId: n.podSubnetId, DryRun: true }));
    expect(dry).toEqual({ name: 'DryRunOperation', status: 412, message: DRY_RUN_MESSAGE });
    const Filters = [{ Name: 'subnet-id', Values: [n.podSubnetId] }];
    const listed = await n.ec2.send(new DescribeNetworkInterfacesCommand({ Filters }));
    expect(listed.NetworkInterfaces).toEqual([]);
    const eni = (await create(n.ec2, { SubnetId: n.podSubnetId })).NetworkInterface!.NetworkInterfaceId!;
    await n.clock.sleep(n.emu.realism.consistencyWindowMs);
    const attach = { NetworkInterfaceId: eni, InstanceId: n.instanceId, DeviceIndex: 1, DryRun: true };
    const dryAttach = await answer(ec2.send(new AttachNetworkInterfaceCommand(attach)));
    expect(dryAttach).toMatchObject({ name: 'DryRunOperation' });
    expect(n.cloud.getInterface(eni).attachment).toBeUndefined();
    n.emu.setIamPolicy(allowOnly(['DescribeNetworkInterfaces']));
    const denied = await answer(create(ec2, { SubnetId: n.podSubnetId, DryRun: true }));
    expect(denied).toMatchObject({ name: 'UnauthorizedOperation', status: 403 });
    const dryRuns = n.emu.requests.filter((r) => r.dryRun).map((r) => r.code);
    expect(dryRuns).toEqual(['DryRunOperation', 'DryRunOperation', 'UnauthorizedOperation']);
  });
});

describe('strict EC2 emulator: ClientToken idempotency', () => {
  it('the same token and parameters return the first ENI; other ones are IdempotentParameterMismatch', async () => {
    const n = await start({ strict: true });
    const input = { SubnetId: n.podSubnetId, Description: 'one', ClientToken: 'token-1' };
    const first = (await create(n.ec2, input)).NetworkInterface!;
    const again = await create(n.ec2, { ...input });
    expect(again.NetworkInterface!.NetworkInterfaceId).toBe(first.NetworkInterfaceId);
    expect(again.ClientToken).toBe('token-1');
    const mismatch = await answer(create(n.ec2, { ...input, Description: 'two' }));
    expect(mismatch).toEqual({ name: 'IdempotentParameterMismatch', status: 400, message: IDEMPOTENT_MISMATCH });
    expect(n.cloud.describeInterfaces({ subnetIds: [n.podSubnetId] })).toHaveLength(1);
  });

  it('the SDK keeps its token across its own retry: a lost answer makes one ENI, not two', async () => {
    const n = await start({ strict: true, maxAttempts: 2 });
    n.emu.dropResponses('CreateNetworkInterface'); // EC2 made it; the answer never came
    const made = (await create(n.ec2, { SubnetId: n.podSubnetId })).NetworkInterface!;
    const sent = n.emu.requests.filter((r) => r.action === 'CreateNetworkInterface');
    expect(sent).toHaveLength(2);
    expect(sent[0]!.dropped).toBe(true);
    expect(sent[1]!.clientToken).toBe(sent[0]!.clientToken);
    const inSubnet = n.cloud.describeInterfaces({ subnetIds: [n.podSubnetId] }).map((x) => x.id);
    expect(inSubnet).toEqual([made.NetworkInterfaceId]);
  });
});

describe('strict EC2 emulator: security groups', () => {
  it('must exist, be in the subnet VPC, and number at most 5 per ENI', async () => {
    const n = await start({ strict: true });
    const vpc = n.cloud.getSubnet(n.podSubnetId).vpcId;
    const own = n.cloud.getVpc(vpc).defaultSecurityGroup;
    const unknown = await answer(create(n.ec2, { SubnetId: n.podSubnetId, Groups: ['sg-0bad'] }));
    const notThere = "The security group 'sg-0bad' does not exist";
    expect(unknown).toEqual({ name: 'InvalidGroup.NotFound', status: 400, message: notThere });
    const otherVpc = n.cloud.createVpc({ cidr: '10.9.0.0/16' });
    const foreign = otherVpc.defaultSecurityGroup;
    const cross = await answer(create(n.ec2, { SubnetId: n.podSubnetId, Groups: [foreign] }));
    const networks = `Security group ${foreign} and subnet ${n.podSubnetId} belong to different networks.`;
    expect(cross).toEqual({ name: 'InvalidParameter', status: 400, message: networks });
    const six = ['sg-0a1', 'sg-0a2', 'sg-0a3', 'sg-0a4', 'sg-0a5'];
    for (const g of six) n.emu.account.groups.define(g, vpc);
    const tooMany = await answer(create(n.ec2, { SubnetId: n.podSubnetId, Groups: [own, ...six] }));
    expect(tooMany).toMatchObject({ name: 'InvalidParameterValue', status: 400 });
    expect(tooMany.message).toMatch(/exceeded limit 5 on the number of interface security group memberships/);
    const eni = (await create(n.ec2, { SubnetId: n.podSubnetId, Groups: six })).NetworkInterface!.NetworkInterfaceId!;
    await n.clock.sleep(n.emu.realism.consistencyWindowMs);
    const modify = (Groups: string[]) =>
      n.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni, Groups }));
    const over = await answer(modify([own, ...six]));
    const reached = 'The maximum number of security groups per interface has been reached.';
    expect(over).toEqual({ name: 'SecurityGroupsPerInterfaceLimitExceeded', status: 400, message: reached });
    expect(await answer(modify(['sg-0nope']))).toMatchObject({ name: 'InvalidGroup.NotFound' });
    expect(await answer(modify([own]))).toMatchObject({ name: 'ok' });
    expect(n.cloud.getInterface(eni).securityGroups).toEqual([own]);
    // The refused creates made nothing.
    expect(n.cloud.describeInterfaces({ subnetIds: [n.podSubnetId] })).toHaveLength(1);
  });
});

describe('strict EC2 emulator: UnauthorizedOperation', () => {
  it('carries an encoded authorization failure message naming the denied action', async () => {
    const n = await start({ strict: true });
    n.emu.setIamPolicy(allowOnly(['CreateNetworkInterface', 'DescribeSubnets']));
    const TagSpecifications = [{ ResourceType: 'network-interface', Tags: [{ Key: 'k', Value: 'v' }] }];
    const tagged = { SubnetId: n.podSubnetId, TagSpecifications };
    const denied = await answer(create(n.ec2, tagged));
    expect(denied).toMatchObject({ name: 'UnauthorizedOperation', status: 403 });
    const prefix = 'You are not authorized to perform this operation. Encoded authorization failure message: ';
    expect(denied.message.startsWith(prefix)).toBe(true);
    expect(denied.message.slice(prefix.length)).toMatch(/^[\w-]+$/); // opaque: base64url
    const decoded = decodeAuthorizationMessage(denied.message);
    expect(decoded).toMatchObject({ allowed: false, context: { action: 'ec2:CreateTags' } });
    const instances = await answer(n.ec2.send(new DescribeInstancesCommand({ InstanceIds: [n.instanceId] })));
    expect(decodeAuthorizationMessage(instances.message)?.context.action).toBe('ec2:DescribeInstances');
  });

  it('names the resource refused, and an explicit Deny with its statement', async () => {
    const n = await start({ strict: true });
    const eni = (await create(n.ec2, { SubnetId: n.podSubnetId })).NetworkInterface!.NetworkInterfaceId!;
    const Statement = [
      { Effect: 'Allow' as const, Action: 'ec2:*', Resource: '*' },
      { Sid: 'KeepEnis', Effect: 'Deny' as const, Action: 'ec2:DeleteNetworkInterface', Resource: '*' },
    ];
    n.emu.setIamPolicy({ Version: '2012-10-17', Statement });
    const denied = await answer(n.ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eni })));
    expect(decodeAuthorizationMessage(denied.message)).toMatchObject({
      explicitDeny: true,
      matchedStatements: { items: [{ statementId: 'KeepEnis', effect: 'DENY' }] },
      context: {
        action: 'ec2:DeleteNetworkInterface',
        resource: `arn:aws:ec2:us-east-1:123456789012:network-interface/${eni}`,
      },
    });
    expect(n.cloud.getInterface(eni).id).toBe(eni);
  });
});

describe('EC2 emulator: multi-card instance types', () => {
  it('reports NetworkCards as EC2 does and counts each card alone on attach', async () => {
    const n = await start({ instanceType: 'p4d.24xlarge' });
    const types = await n.ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['p4d.24xlarge'] }));
    const t = types.InstanceTypes![0];
    const totals = { MaximumNetworkInterfaces: 60, MaximumNetworkCards: 4, DefaultNetworkCardIndex: 0 };
    expect(t!.NetworkInfo).toMatchObject(totals);
    expect(t!.NetworkInfo!.NetworkCards!.map((c) => [c.NetworkCardIndex, c.MaximumNetworkInterfaces])).toEqual([
      [0, 15],
      [1, 15],
      [2, 15],
      [3, 15],
    ]);
    const eni = async () => (await create(n.ec2, { SubnetId: n.podSubnetId })).NetworkInterface!.NetworkInterfaceId!;
    // Each attach names an ENI just made: EC2 may not see it yet (eventual consistency), so it is retried.
    const attach = async (id: string, DeviceIndex: number, NetworkCardIndex?: number) => {
      const input = { NetworkInterfaceId: id, InstanceId: n.instanceId, DeviceIndex, NetworkCardIndex };
      return answer(pastNotFound(n, () => n.ec2.send(new AttachNetworkInterfaceCommand(input))));
    };
    for (let d = 1; d < 15; d++) expect(await attach(await eni(), d)).toMatchObject({ name: 'ok' });
    const sixteenth = await eni();
    const limit = 'Interface count 16 exceeds the limit for p4d.24xlarge';
    const full = { name: 'AttachmentLimitExceeded', status: 400, message: limit };
    expect(await attach(sixteenth, 15)).toEqual(full);
    expect(await attach(sixteenth, 1, 1)).toMatchObject({ name: 'ok' }); // device index 1 again, on card 1
    expect(await attach(await eni(), 1, 4)).toMatchObject({ name: 'InvalidParameterValue', status: 400 });
    const describe = () => n.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [sixteenth] }));
    const d = (await pastNotFound(n, describe)).NetworkInterfaces![0];
    expect(d!.Attachment).toMatchObject({ NetworkCardIndex: 1, DeviceIndex: 1 });
    const mac = n.cloud.getInterface(sixteenth).mac;
    // IMDS shows the interface once its attach is done and IMDS has caught up.
    const card = () => n.imds.metaData(`network/interfaces/macs/${mac}/network-card`);
    expect(await waitOnClock(n, `${mac} in IMDS`, card)).toBe('1');
    const primaryMac = n.cloud.getInstance(n.instanceId).interfaces[0]!.mac;
    expect(await n.imds.metaData(`network/interfaces/macs/${primaryMac}/network-card`)).toBe('0');
  });
});
