/**
 * @module aws setup
 * `VPC_IPAM_PROVIDER=aws`: the daemon runs the AWS provider (EC2 through
 * `@aws-sdk/client-ec2`, IMDSv2). It hands the node's subnet facts, EKS
 * subnet discovery and the static POD_SUBNET_IDS config to the node's one
 * subnet-source seam (setup/pod-subnets.ts), which also decides custom
 * networking. Endpoints come from AWS_EC2_ENDPOINT and
 * AWS_EC2_METADATA_SERVICE_ENDPOINT (see docs/aws.md).
 *
 * `VPC_IPAM_AWS_EMBEDDED_EMULATOR=true` starts the EC2+IMDS emulator in this
 * process on a free loopback port and points the provider at it (fake static
 * credentials), seeded with one node from VPC_IPAM_SIM_INSTANCE_TYPE and
 * VPC_IPAM_SIM_SUBNET_CIDR. Its cloud lives in `<state dir>/aws-cloud.json`,
 * saved after every change, so like the sim it outlives a daemon restart
 * (or SIGKILL). `VPC_IPAM_SIM_LATENCY_SCALE` scales its call latencies;
 * `VPC_IPAM_AWS_EMULATOR_REALISM` sets how unkind it is (docs/aws.md).
 */
import * as path from 'node:path';
import { ConfigError, IpamError } from '../../providers/errors.js';
import { AwsProvider } from '../../providers/aws/aws-provider.js';
import { LeakedEniCollector } from '../../providers/aws/eni-gc.js';
import { createEc2Client, EMULATOR_CREDENTIALS } from '../../providers/aws/ec2-client.js';
import type { Ec2Realism } from '../../providers/aws/emulator/realism.js';
import type { AwsEmulator } from '../../providers/aws/emulator/server.js';
import { discoverInstance, ImdsClient } from '../../providers/aws/imds-client.js';
import type { AwsSettings } from '../../providers/aws/settings.js';
import { POD_SUBNET_TAG } from '../../providers/aws/tags.js';
import { staticPodSubnets } from '../../providers/pod-subnets.js';
import type { DaemonConfig } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { Clock } from '../util/clock.js';
import { ensureDirSync } from '../util/ensure-dir.js';
import type { BuiltProvider } from './types.js';

async function startEmbedded(
  config: DaemonConfig,
  realism: Ec2Realism,
  latencyScale: number,
  log: Logger,
): Promise<AwsEmulator> {
  ensureDirSync(config.stateDir, 'VPC_IPAM_STATE_DIR');
  const { startEmulatedNode } = await import('../../providers/aws/emulator/node.js');
  const emu = await startEmulatedNode({
    instanceType: config.sim.instanceType,
    subnetCidr: config.sim.subnetCidr,
    cloudSeed: config.sim.seed,
    stateFile: path.join(config.stateDir, 'aws-cloud.json'),
    realism,
    latencyScale,
  }).catch((err: unknown) => {
    // The emulated node is seeded from two variables only: a refusal (subnet too large, unknown type) is theirs.
    const badSubnet = err instanceof ConfigError && err.variable.includes('subnet');
    if (!IpamError.is(err) || (err.code !== 'CLOUD_INVALID' && !badSubnet)) throw err;
    const badType = (err as { cloudCode?: string }).cloudCode === 'InvalidInstanceType';
    throw new ConfigError(badType ? 'VPC_IPAM_SIM_INSTANCE_TYPE' : 'VPC_IPAM_SIM_SUBNET_CIDR', err.message);
  });
  log.info({ endpoint: emu.endpoint, instanceId: emu.instanceId }, 'embedded EC2+IMDS emulator started');
  return emu;
}

/** `p`: the AWS settings parseConfig read (providers/aws/settings.ts), and how to talk to an emulator. */
export async function setupAws(
  config: DaemonConfig,
  p: { settings: AwsSettings; emulatorLatencyScale: number | undefined; emulatorCredentials: boolean },
  clock: Clock,
  log: Logger,
): Promise<BuiltProvider> {
  const s = p.settings;
  const emu = s.embeddedEmulator
    ? await startEmbedded(config, s.embeddedRealism, p.emulatorLatencyScale ?? 1, log)
    : undefined;
  if (emu && (s.ec2Endpoint || s.imdsEndpoint))
    log.warn({}, 'VPC_IPAM_AWS_EMBEDDED_EMULATOR=true: ignoring AWS_EC2_ENDPOINT / AWS_EC2_METADATA_SERVICE_ENDPOINT');
  let provider: AwsProvider | undefined;
  try {
    const imds = new ImdsClient({ endpoint: emu?.endpoint ?? s.imdsEndpoint, clock });
    const identity = await discoverInstance(imds);
    const ec2 = createEc2Client({
      region: s.region ?? identity.region,
      endpoint: emu?.endpoint ?? s.ec2Endpoint,
      ...(emu || p.emulatorCredentials ? { credentials: EMULATOR_CREDENTIALS } : {}),
      maxAttempts: s.maxAttempts,
      httpTimeoutMs: s.httpTimeoutMs,
    });
    provider = await AwsProvider.create({
      ec2,
      imds,
      clock,
      identity,
      clusterName: s.clusterName,
      attachWaitMs: s.attachWaitMs,
      manageUntaggedEni: s.manageUntaggedEni,
      log,
    });
    const aws = provider;
    if (s.podSubnetIds.length) {
      // A typo in a static list should stop the daemon now, not fail every ENI creation later.
      const found = await aws.listSubnets({ ids: s.podSubnetIds }).catch((err: Error) => {
        throw new ConfigError('POD_SUBNET_IDS', `cannot describe ${s.podSubnetIds.join(', ')}: ${err.message}`);
      });
      const wrongZone = found.filter((x) => x.zone !== identity.zone || x.vpcId !== identity.vpcId);
      if (wrongZone.length)
        throw new ConfigError(
          'POD_SUBNET_IDS',
          `${wrongZone.map((x) => x.id).join(', ')} not in this node's VPC ${identity.vpcId} and zone ${identity.zone}`,
        );
    }
    const { instanceId, instanceType, zone } = identity;
    log.info({ instanceId, instanceType, zone }, 'aws provider ready');
    const podSubnets = staticPodSubnets('POD_SUBNET_IDS', s.podSubnetIds, s.podSecurityGroups);
    return {
      provider: aws,
      interfaceTags: () => s.additionalTags,
      leakSweep: (o) => new LeakedEniCollector({ ec2: aws.api, vpcId: identity.vpcId, ...o }),
      subnets: {
        vpcId: identity.vpcId,
        zone: identity.zone,
        nodeSubnetId: identity.subnetId,
        ...(podSubnets ? { static: podSubnets } : {}),
        ...(s.subnetDiscovery ? { discoveryTag: POD_SUBNET_TAG } : {}),
      },
      close: async () => {
        await emu?.close();
      },
    };
  } catch (err) {
    await provider?.close();
    await emu?.close();
    throw err;
  }
}
