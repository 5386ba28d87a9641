/**
 * The IAM policies in docs/aws.md are what the code needs, the allow side: the daemon and the leaked-ENI sweep
 * run against an emulator that evaluates the scoped policies as IAM does (per resource, tags and conditions),
 * with CLUSTER_NAME set and the node tagged as its launch template would; nothing is refused, and every listed
 * action is used. What the policies refuse is in aws-iam-deny.test.ts.
 */
import {
  AssignPrivateIpAddressesCommand,
  CreateNetworkInterfaceCommand,
  DescribeNetworkInterfacesCommand,
} from '@aws-sdk/client-ec2';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EMULATORS } from '../../ipamd/ctl/commands/emulate.js';
import { SystemClock } from '../../ipamd/util/clock.js';
import { AwsProvider } from '../../providers/aws/aws-provider.js';
import { createEc2Client, EMULATOR_CREDENTIALS } from '../../providers/aws/ec2-client.js';
import { clusterNodeTags } from '../../providers/aws/emulator/node.js';
import type { AwsEmulator } from '../../providers/aws/emulator/server.js';
import { LeakedEniCollector } from '../../providers/aws/eni-gc.js';
import { ImdsClient } from '../../providers/aws/imds-client.js';
import { TAG_CLUSTER, TAG_CREATED_AT, TAG_INSTANCE_ID } from '../../providers/aws/tags.js';
import { CloudUnavailableError } from '../../providers/errors.js';
import { SimCloud } from '../../providers/sim/cloud.js';
import { awsDaemon, startEmulator, type AwsDaemon } from '../providers/aws/daemon-helpers.js';
import { sdkAnswer, until } from '../providers/aws/helpers.js';
import { bareClient, CLUSTER, docPolicy, policyActions } from './aws-iam-policies.js';

function used(emu: AwsEmulator): Set<string> {
  const out = new Set(emu.requests.map((r) => r.action));
  out.add('CreateTags'); // every CreateNetworkInterface tags at creation, which IAM authorises as CreateTags
  return out;
}

/** A node of CLUSTER: instance and primary ENI tagged at launch, unless `untagged`. */
function clusterCloud(o: { untagged?: boolean } = {}): { cloud: SimCloud; vpcId: string } {
  const cloud = new SimCloud({ seed: 5, clock: { now: Date.now }, provider: 'aws' });
  // A type missing from the built-in table, so the DescribeInstanceTypes fallback runs too.
  cloud.defineInstanceType({
    instanceType: 'z9.large',
    maxInterfaces: 3,
    ipv4PerInterface: 10,
    supportsIps: true,
    supportsPrefixes: true,
    prefixLength: 28,
    canCreateInterfaces: true,
  });
  const tags = o.untagged ? {} : clusterNodeTags(CLUSTER);
  cloud.seedNode({ instanceType: 'z9.large', subnetCidr: '10.0.1.0/24', podSubnetCidr: '10.0.2.0/24', ...tags });
  return { cloud, vpcId: cloud.describeVpcs()[0]!.id };
}

const running: AwsDaemon[] = [];
const emulators: AwsEmulator[] = [];
afterEach(async () => {
  for (const d of running.splice(0)) await d.stop();
  for (const e of emulators.splice(0)) await e.close();
});

describe('scoped IAM (docs/aws.md): the allow side', () => {
  it('the node policy lets ipamd do all it does, and lists nothing it does not do', async () => {
    const { cloud, vpcId } = clusterCloud();
    const policy = docPolicy('node', { CLUSTER_NAME: CLUSTER, VPC_ID: vpcId });
    const emu = await startEmulator({ cloud, iamPolicy: policy });
    emulators.push(emu);
    const d = await awsDaemon({ WARM_IP_TARGET: '2', MINIMUM_IP_TARGET: '4', CLUSTER_NAME: CLUSTER }, { emu });
    running.push(d);
    // The first new ENI fails at DeleteOnTermination and is undone (Detach + Delete); the retry succeeds.
    const injected = (a: string) =>
      new CloudUnavailableError({ provider: 'aws', operation: a, cloudCode: 'InternalError', message: 'injected' });
    emu.faults.failNext('ModifyNetworkInterfaceAttribute', 2, injected);
    for (let i = 0; i < 12; i++) await d.add(`p${i}`);
    await until('a second ENI', () => d.daemon.snapshot().interfaces.length === 2);
    for (let i = 0; i < 12; i++) await d.del(`p${i}`);
    await until('shrunk back', () => d.daemon.snapshot().total <= 6);
    await d.daemon.reconciler.resync();
    expect(emu.requests.filter((r) => r.code === 'UnauthorizedOperation')).toEqual([]);
    expect(emu.requests.some((r) => r.action === 'DeleteNetworkInterface' && r.status === 200)).toBe(true);
    expect([...used(emu)].sort()).toEqual([...policyActions(policy)].sort());
  });

  it('the sweep policy lets the sweep stamp, mark and delete, and lists nothing it does not do', async () => {
    const { cloud, vpcId } = clusterCloud();
    const policy = docPolicy('gc', { CLUSTER_NAME: CLUSTER, VPC_ID: vpcId });
    const emu = await startEmulator({ cloud, iamPolicy: policy });
    emulators.push(emu);
    const subnetId = emu.cloud.describeSubnets()[0]!.id;
    const old = new Date(Date.now() - 3_600_000).toISOString();
    const ours = { [TAG_CLUSTER]: CLUSTER, [TAG_INSTANCE_ID]: 'i-0gone' };
    const leaked = emu.cloud.createInterface({ subnetId, tags: { ...ours, [TAG_CREATED_AT]: old } });
    const ageless = emu.cloud.createInterface({ subnetId, tags: ours }); // gets its created-at now
    const ec2 = createEc2Client({ region: 'us-east-1', endpoint: emu.endpoint, credentials: EMULATOR_CREDENTIALS });
    const gc = new LeakedEniCollector({ ec2, clock: new SystemClock(), vpcId, clusterName: CLUSTER });
    expect(await gc.runPass()).toMatchObject({ marked: [leaked.id], young: [ageless.id] });
    expect((await gc.runPass()).deleted).toEqual([leaked.id]);
    ec2.destroy();
    expect(emu.cloud.getInterface(ageless.id).tags[TAG_CREATED_AT]).toBeDefined();
    expect(emu.requests.filter((r) => r.code === 'UnauthorizedOperation')).toEqual([]);
    expect(new Set(emu.requests.map((r) => r.action))).toEqual(policyActions(policy));
  });

  it('`vpc-ipamctl emulate --iam-policy FILE --cluster-name NAME` serves a tagged node under that policy', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'iam-')), 'node.json');
    writeFileSync(file, JSON.stringify(docPolicy('node', { CLUSTER_NAME: CLUSTER, VPC_ID: '*' })));
    const bad = path.join(path.dirname(file), 'bad.json');
    writeFileSync(bad, JSON.stringify(docPolicy('node', { CLUSTER_NAME: '${CLUSTER_NAME}', VPC_ID: '*' })));
    const opts = { host: '127.0.0.1', port: 0, realism: 'off' };
    await expect(EMULATORS.aws!({ ...opts, iamPolicy: bad })).rejects.toThrow(/--iam-policy .*policy variables/);
    const running = await EMULATORS.aws!({ ...opts, iamPolicy: file, clusterName: CLUSTER });
    const ec2 = bareClient(running.json.endpoint as string);
    try {
      const [nic] = (await ec2.send(new DescribeNetworkInterfacesCommand({}))).NetworkInterfaces!;
      expect(nic!.TagSet).toEqual([{ Key: TAG_CLUSTER, Value: CLUSTER }]);
      const assign = { NetworkInterfaceId: nic!.NetworkInterfaceId!, SecondaryPrivateIpAddressCount: 1 };
      expect(await sdkAnswer(ec2.send(new AssignPrivateIpAddressesCommand(assign)))).toMatchObject({ name: 'ok' });
      const untagged = await sdkAnswer(ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: nic!.SubnetId! })));
      expect(untagged).toMatchObject({ name: 'UnauthorizedOperation', status: 403 });
    } finally {
      ec2.destroy();
      await running.close();
    }
  });

  it('an untagged primary ENI: one warning at start naming the fix; assigns refused by name', async () => {
    const { cloud, vpcId } = clusterCloud({ untagged: true });
    const emu = await startEmulator({ cloud, iamPolicy: docPolicy('node', { CLUSTER_NAME: CLUSTER, VPC_ID: vpcId }) });
    emulators.push(emu);
    const warnings: Array<{ o: object; m?: string }> = [];
    const log = { warn: (o: object, m?: string) => warnings.push({ o, m }), error: () => {} };
    const imds = new ImdsClient({ endpoint: emu.endpoint, clock: new SystemClock() });
    const ec2 = createEc2Client({ region: 'us-east-1', endpoint: emu.endpoint, credentials: EMULATOR_CREDENTIALS });
    const provider = await AwsProvider.create({ ec2, imds, clock: new SystemClock(), clusterName: CLUSTER, log });
    const primary = (await provider.describeNode()).interfaces.find((n) => n.deviceIndex === 0)!;
    await provider.describeNode();
    const tagWarnings = warnings.filter((w) => w.m?.includes(TAG_CLUSTER));
    expect(tagWarnings).toHaveLength(1);
    expect(tagWarnings[0]!.m).toMatch(new RegExp(`primary ENI ${primary.id} .*launch template`));
    const refused = await provider.assignAddresses(primary.id, { kind: 'ip', count: 1 }).catch((e: Error) => e);
    expect(refused).toMatchObject({ code: 'CLOUD_UNAUTHORIZED', cloudCode: 'UnauthorizedOperation' });
    expect((refused as Error).message).toMatch(/does not allow ec2:AssignPrivateIpAddresses .*docs\/aws\.md/);
    await provider.close();
  });
});
