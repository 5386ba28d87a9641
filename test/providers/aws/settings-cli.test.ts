/**
 * AWS settings and setup refuse bad input naming the variable (and change
 * nothing); `vpc-ipamctl max-pods` prints EKS's published values, its JSON
 * form, the DescribeInstanceTypes fallback, and where vpc-ipam differs.
 */
import { parseCtlSettings } from '../../../ipamd/config/ctl.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../../ipamd/config.js';
import { maxPodsCommand } from '../../../ipamd/ctl/commands/max-pods.js';
import { silentLogger } from '../../../ipamd/observability/logger.js';
import { composeNode } from '../../../ipamd/compose-node.js';
import { MemoryCheckpointer } from '../../../ipamd/datastore/checkpoint.js';
import { NoopPlumber } from '../../../ipamd/netns/plumber.js';
import { SystemClock } from '../../../ipamd/util/clock.js';
import { EMULATE_REALISM, INSTANT } from '../../../providers/aws/emulator/realism.js';
import { parseAwsSettings } from '../../../providers/aws/settings.js';
import { awsNode, type AwsNode } from './helpers.js';

let node: AwsNode | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await node?.close();
  node = undefined;
});

async function ctl(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
  const code = await maxPodsCommand.run(args, parseCtlSettings(env));
  vi.restoreAllMocks();
  return { code, out: out.join('') };
}

describe('AWS settings', () => {
  it.each([
    [{ AWS_EC2_ENDPOINT: 'ftp://x' }, /AWS_EC2_ENDPOINT: expected an http\(s\) URL/],
    [{ AWS_REGION: 'mars' }, /AWS_REGION: "mars" is not a region/],
    [{ AWS_MAX_ATTEMPTS: '9' }, /AWS_MAX_ATTEMPTS: must be <= 5/],
    [{ POD_SUBNET_IDS: 'subnet-0abc, nope' }, /POD_SUBNET_IDS: .*"nope" is not one/],
    [{ POD_SECURITY_GROUPS: 'sg-1,subnet-2' }, /POD_SECURITY_GROUPS/],
    [{ ADDITIONAL_ENI_TAGS: '{"a":1}' }, /ADDITIONAL_ENI_TAGS: tag "a" must have a string value/],
    [{ ADDITIONAL_ENI_TAGS: '{"vpc-ipam.io/x":"y"}' }, /reserved prefix/],
    [{ CLUSTER_NAME: 'a b' }, /CLUSTER_NAME/],
    [{ VPC_IPAM_AWS_EMULATOR_REALISM: 'attach=soon' }, /VPC_IPAM_AWS_EMULATOR_REALISM: attach must be a number/],
    [{ VPC_IPAM_AWS_EMULATOR_IMDS_DELAY_MS: '5-1' }, /VPC_IPAM_AWS_EMULATOR_IMDS_DELAY_MS: expected milliseconds/],
  ])('rejects %j', (env, msg) => {
    expect(() => parseAwsSettings(env)).toThrow(msg);
  });

  it('defaults to 2 SDK attempts, 10 s timeouts, subnet discovery on, no custom networking', () => {
    expect(parseAwsSettings({})).toMatchObject({
      maxAttempts: 2,
      httpTimeoutMs: 10_000,
      subnetDiscovery: true,
      podSubnetIds: [],
      embeddedEmulator: false,
    });
  });

  it('runs the embedded emulator as strict as emulate mode unless told otherwise', () => {
    expect(parseAwsSettings({}).embeddedRealism).toEqual(EMULATE_REALISM);
    expect(parseAwsSettings({ VPC_IPAM_AWS_EMULATOR_REALISM: 'off' }).embeddedRealism).toEqual(INSTANT);
    const scaled = parseAwsSettings({
      VPC_IPAM_AWS_EMULATOR_REALISM: 'scale=0.1',
      VPC_IPAM_AWS_EMULATOR_IMDS_DELAY_MS: '300',
    });
    expect(scaled.embeddedRealism).toMatchObject({ attachMs: 200, detachMs: 300, imdsLagMs: { min: 300, max: 300 } });
  });

  it('setup refuses custom networking without Pod subnets, or with them missing or in another zone', async () => {
    node = await awsNode();
    const base = {
      VPC_IPAM_PROVIDER: 'aws',
      AWS_EC2_ENDPOINT: node.emu.endpoint,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: node.emu.endpoint,
      AWS_REGION: 'us-east-1',
    };
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'x';
    const setup = (env: Record<string, string>) =>
      composeNode({
        config: parseConfig({ ...base, ...env }),
        clock: new SystemClock(),
        log: silentLogger(),
        checkpointer: new MemoryCheckpointer(),
        plumber: new NoopPlumber(),
        version: 'test',
      });
    await expect(setup({ AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true' })).rejects.toThrow(
      /AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: custom networking needs Pod subnets/,
    );
    await expect(setup({ POD_SUBNET_IDS: 'subnet-0000000000000abcd' })).rejects.toThrow(
      /POD_SUBNET_IDS: cannot describe/,
    );
    const far = node.cloud.createSubnet({
      vpcId: node.provider.identity.vpcId,
      cidr: '10.0.9.0/24',
      zone: 'us-east-1b',
    });
    await expect(setup({ POD_SUBNET_IDS: far.id })).rejects.toThrow(
      /POD_SUBNET_IDS: .* not in this node's VPC .* and zone us-east-1a/,
    );
    expect(node.emu.requests.filter((r) => !r.action.startsWith('Describe'))).toEqual([]); // nothing changed
  });
});

describe('vpc-ipamctl max-pods', () => {
  it("prints EKS's published values and the JSON form", async () => {
    expect(await ctl(['--instance-type', 'm5.large', '--json'])).toEqual({ code: 0, out: '{"maxPods":29}\n' });
    expect(await ctl(['--instance-type', 'm5.xlarge', '--json'])).toEqual({ code: 0, out: '{"maxPods":58}\n' });
    expect(await ctl(['--instance-type', 'm5.large', '--prefix-delegation', '--json'])).toEqual({
      code: 0,
      out: '{"maxPods":110}\n',
    });
    expect((await ctl(['--instance-type', 'm5.large', '--custom-networking', '--json'])).out).toBe('{"maxPods":20}\n');
    const human = await ctl(['--instance-type', 'm5.large', '--prefix-delegation']);
    expect(human.out).toMatch(
      /^m5\.large: max pods 110 \(EKS: 3 ENIs × \(\(10 − 1\) × 16\) \+ 2 = 434, capped at 110 for 2 vCPUs\)/,
    );
    expect(human.out).toMatch(/can hold 432 Pod addresses/);
    expect(human.out).toMatch(/PREFIX_FALLBACK_TO_IPS=true .* at most 27 Pod addresses/);
    expect((await ctl(['--instance-type', 't2.medium', '--prefix-delegation'])).out).toMatch(
      /not Nitro: EKS silently uses the secondary-IP formula; vpc-ipam refuses to start/,
    );
    await expect(ctl(['--instance-type', 'm5.large', '--max-eni', '0'])).rejects.toThrow(
      /--max-eni must be a whole number >= 1/,
    );
    await expect(ctl([])).rejects.toThrow(/--instance-type is required/);
  });

  it('asks EC2 (DescribeInstanceTypes) for a type missing from the table', async () => {
    node = await awsNode();
    node.cloud.defineInstanceType({
      instanceType: 'z9.huge',
      maxInterfaces: 4,
      ipv4PerInterface: 15,
      supportsIps: true,
      supportsPrefixes: true,
      prefixLength: 28,
      canCreateInterfaces: true,
    });
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'x';
    const env = { AWS_EC2_ENDPOINT: node.emu.endpoint, AWS_REGION: 'us-east-1' };
    expect(await ctl(['--instance-type', 'z9.huge', '--json'], env)).toEqual({ code: 0, out: '{"maxPods":58}\n' });
    expect(node.emu.counts().DescribeInstanceTypes).toBe(1);
    await expect(ctl(['--instance-type', 'z9.nothing'], env)).rejects.toThrow(/InvalidInstanceType/);
    await expect(ctl(['--instance-type', 'z9.huge'], {})).rejects.toThrow(/not in the built-in table; set AWS_REGION/);
  });
});
