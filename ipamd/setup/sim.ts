/**
 * @module sim setup
 * `VPC_IPAM_PROVIDER=sim`: the daemon runs against the simulated cloud. The
 * cloud lives in `<state dir>/sim-cloud.json` and is saved after every
 * mutation, so it is "outside" the daemon: a restarted (or SIGKILLed) daemon
 * finds the interfaces and addresses it had, as it would on a real cloud.
 *
 * `VPC_IPAM_SIM_LATENCY_SCALE` (default 1) multiplies the documented call
 * latencies; tests use a small scale to stay fast, never 0 for realism.
 */
import * as path from 'node:path';
import { ConfigError, IpamError } from '../../providers/errors.js';
import {
  DEFAULT_LATENCY,
  SimCloud,
  SimProvider,
  openSimCloud,
  saveSimCloud,
  type LatencyOverrides,
} from '../../providers/sim/index.js';
import { DEFAULT_VPC_CIDR } from '../../providers/sim/seed.js';
import type { DaemonConfig } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { vpcCidrFor } from '../sim/vpc.js';
import type { Clock } from '../util/clock.js';
import { ensureDirSync } from '../util/ensure-dir.js';
import type { BuiltProvider } from './types.js';

export function scaledLatency(scale: number): LatencyOverrides {
  const actions = Object.fromEntries(
    Object.entries(DEFAULT_LATENCY.actions).map(([k, v]) => [k, Math.round(v * scale)]),
  );
  // Every time of the realistic profile, not only the calls: an unscaled 3 s detach would run in real time.
  const scaled = (ms: number) => Math.round(ms * scale);
  return {
    actions,
    metadataPropagationMs: scaled(DEFAULT_LATENCY.metadataPropagationMs),
    metadataPropagationMaxMs: scaled(DEFAULT_LATENCY.metadataPropagationMaxMs),
    detachSettleMs: scaled(DEFAULT_LATENCY.detachSettleMs),
    consistencyWindowMs: scaled(DEFAULT_LATENCY.consistencyWindowMs),
  };
}

/** `latencyScale`: VPC_IPAM_SIM_LATENCY_SCALE, read with the rest of the configuration. */
export async function setupSim(
  config: DaemonConfig,
  latencyScale: number,
  clock: Clock,
  log: Logger,
): Promise<BuiltProvider> {
  ensureDirSync(config.stateDir, 'VPC_IPAM_STATE_DIR');
  const file = path.join(config.stateDir, 'sim-cloud.json');
  const { instanceType, subnetCidr, seed } = config.sim;
  const cloud = openSimCloud(
    file,
    () => {
      const c = new SimCloud({ seed, clock });
      // The VPC follows the subnet (10.0.0.0/16 when it holds it, else the /16 around it): any private subnet works.
      const vpcCidr = vpcCidrFor(subnetCidr, DEFAULT_VPC_CIDR);
      try {
        c.seedNode({ instanceType, subnetCidr, vpcCidr, seed });
      } catch (err) {
        // The only inputs are the two variables; the cloud's refusal (too small, unknown type) is theirs.
        if (!IpamError.is(err) || err.code !== 'CLOUD_INVALID') throw err;
        const variable = c.instanceLimits(instanceType) ? 'VPC_IPAM_SIM_SUBNET_CIDR' : 'VPC_IPAM_SIM_INSTANCE_TYPE';
        throw new ConfigError(variable, err.message);
      }
      return c;
    },
    { clock },
  );
  const instance = cloud.describeInstances()[0];
  if (!instance) throw new Error(`${file} holds no instance; delete it to start a fresh simulated node`);
  if (instance.instanceType !== config.sim.instanceType) {
    log.warn(
      { saved: instance.instanceType, requested: config.sim.instanceType, file },
      'sim cloud already exists with another instance type; keeping the saved node',
    );
  }
  const provider = new SimProvider({
    cloud,
    instanceId: instance.id,
    clock,
    latency: scaledLatency(latencyScale),
    onMutate: () => saveSimCloud(cloud, file),
  });
  // The sim attaches interfaces like EC2, so the node's subnet choice (and custom networking) applies to it.
  return { provider, subnets: { vpcId: instance.vpcId, zone: instance.zone, nodeSubnetId: instance.subnetId } };
}
