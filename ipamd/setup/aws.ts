/**
 * @module aws setup
 * `VPC_IPAM_PROVIDER=aws`: the daemon runs the AWS provider (EC2 through
 * `@aws-sdk/client-ec2`, IMDSv2) with AWS subnet choice and custom
 * networking hooks. Endpoints come from AWS_EC2_ENDPOINT and
 * AWS_EC2_METADATA_SERVICE_ENDPOINT (see docs/aws.md).
 *
 * `VPC_IPAM_AWS_EMBEDDED_EMULATOR=true` starts the EC2+IMDS emulator in this
 * process on a free loopback port and points the provider at it (fake static
 * credentials), seeded with one node from VPC_IPAM_SIM_INSTANCE_TYPE and
 * VPC_IPAM_SIM_SUBNET_CIDR. Its cloud lives in `<state dir>/aws-cloud.json`,
 * saved after every change, so like the sim it outlives a daemon restart
 * (or SIGKILL). `VPC_IPAM_SIM_LATENCY_SCALE` scales its call latencies.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../../providers/errors.js';
import { AwsProvider } from '../../providers/aws/aws-provider.js';
import { createEc2Client, EMULATOR_CREDENTIALS } from '../../providers/aws/ec2-client.js';
import type { AwsEmulator } from '../../providers/aws/emulator/server.js';
import { discoverInstance, ImdsClient } from '../../providers/aws/imds-client.js';
import { parseAwsSettings } from '../../providers/aws/settings.js';
import { createAwsSubnetSelector, staticPodSubnets, usableUnderCustomNetworking, type PodSubnetSource } from '../../providers/aws/subnets.js';
import type { DaemonConfig } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { BuiltProvider } from '../provider-factory.js';
import type { Clock } from '../util/clock.js';

export interface AwsSetupExtras {
  /**
   * Per-node Pod subnets (custom networking), e.g. from a node label →
   * PodSubnetConfig CRD. Default: POD_SUBNET_IDS / POD_SECURITY_GROUPS.
   */
  podSubnets?: PodSubnetSource;
}

function latencyScale(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return 1;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new ConfigError('VPC_IPAM_SIM_LATENCY_SCALE', `expected a number from 0 to 100, got "${raw}"`);
  return n;
}

async function startEmbedded(config: DaemonConfig, imdsDelayMs: number, log: Logger): Promise<AwsEmulator> {
  mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
  const { startEmulatedNode } = await import('../../providers/aws/emulator/node.js');
  const emu = await startEmulatedNode({
    instanceType: config.sim.instanceType,
    subnetCidr: config.sim.subnetCidr,
    cloudSeed: config.sim.seed,
    stateFile: path.join(config.stateDir, 'aws-cloud.json'),
    imdsDelayMs,
    latencyScale: latencyScale(config.env.VPC_IPAM_SIM_LATENCY_SCALE),
  });
  log.info({ endpoint: emu.endpoint, instanceId: emu.instanceId }, 'embedded EC2+IMDS emulator started');
  return emu;
}

export async function setupAws(config: DaemonConfig, clock: Clock, log: Logger, extras: AwsSetupExtras = {}): Promise<BuiltProvider> {
  const s = parseAwsSettings(config.env);
  const emu = s.embeddedEmulator ? await startEmbedded(config, s.embeddedImdsDelayMs, log) : undefined;
  if (emu && (s.ec2Endpoint || s.imdsEndpoint)) log.warn({}, 'VPC_IPAM_AWS_EMBEDDED_EMULATOR=true: ignoring AWS_EC2_ENDPOINT / AWS_EC2_METADATA_SERVICE_ENDPOINT');
  let provider: AwsProvider | undefined;
  try {
    const imds = new ImdsClient({ endpoint: emu?.endpoint ?? s.imdsEndpoint, clock });
    const identity = await discoverInstance(imds);
    const ec2 = createEc2Client({
      region: s.region ?? identity.region,
      endpoint: emu?.endpoint ?? s.ec2Endpoint,
      ...(emu ? { credentials: EMULATOR_CREDENTIALS } : {}),
      maxAttempts: s.maxAttempts,
      httpTimeoutMs: s.httpTimeoutMs,
    });
    provider = await AwsProvider.create({ ec2, imds, clock, identity, clusterName: s.clusterName, attachWaitMs: s.attachWaitMs, log });
    const aws = provider;
    const podSubnets = extras.podSubnets ?? staticPodSubnets(s.podSubnetIds, s.podSecurityGroups);
    if (s.customNetworking && !podSubnets) {
      throw new ConfigError('AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG', 'custom networking needs Pod subnets: set POD_SUBNET_IDS (and POD_SECURITY_GROUPS), or run with the Kubernetes PodSubnetConfig integration');
    }
    if (!extras.podSubnets && s.podSubnetIds.length) {
      // A typo in a static list should stop the daemon now, not fail every ENI creation later.
      const found = await aws.listSubnets({ ids: s.podSubnetIds }).catch((err: Error) => {
        throw new ConfigError('POD_SUBNET_IDS', `cannot describe ${s.podSubnetIds.join(', ')}: ${err.message}`);
      });
      const wrongZone = found.filter((x) => x.zone !== identity.zone || x.vpcId !== identity.vpcId);
      if (wrongZone.length) throw new ConfigError('POD_SUBNET_IDS', `${wrongZone.map((x) => x.id).join(', ')} not in this node's VPC ${identity.vpcId} and zone ${identity.zone}`);
    }
    log.info({ instanceId: identity.instanceId, instanceType: identity.instanceType, zone: identity.zone, customNetworking: s.customNetworking }, 'aws provider ready');
    return {
      provider: aws,
      daemonHooks: {
        selectSubnets: createAwsSubnetSelector({
          provider: aws,
          vpcId: identity.vpcId,
          zone: identity.zone,
          nodeSubnetId: identity.subnetId,
          customNetworking: s.customNetworking,
          podSubnets,
          discovery: s.subnetDiscovery,
          log,
        }),
        interfaceTags: () => s.additionalTags,
        ...(s.customNetworking ? { isUsable: usableUnderCustomNetworking } : {}),
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
