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
import { mkdirSync } from 'node:fs';
import { ConfigError } from '../../providers/errors.js';
import { DEFAULT_LATENCY, SimCloud, SimProvider, openSimCloud, saveSimCloud, type LatencyOverrides } from '../../providers/sim/index.js';
import type { DaemonConfig } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { BuiltProvider } from '../provider-factory.js';
import type { Clock } from '../util/clock.js';

export function scaledLatency(scale: number): LatencyOverrides {
  const actions = Object.fromEntries(Object.entries(DEFAULT_LATENCY.actions).map(([k, v]) => [k, Math.round(v * scale)]));
  return { actions, metadataPropagationMs: Math.round(DEFAULT_LATENCY.metadataPropagationMs * scale) };
}

function readScale(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return 1;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new ConfigError('VPC_IPAM_SIM_LATENCY_SCALE', `expected a number from 0 to 100, got "${raw}"`);
  return n;
}

export async function setupSim(config: DaemonConfig, clock: Clock, log: Logger): Promise<BuiltProvider> {
  const scale = readScale(config.env.VPC_IPAM_SIM_LATENCY_SCALE);
  mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(config.stateDir, 'sim-cloud.json');
  const cloud = openSimCloud(
    file,
    () => {
      const c = new SimCloud({ seed: config.sim.seed, clock });
      c.seedNode({ instanceType: config.sim.instanceType, subnetCidr: config.sim.subnetCidr, seed: config.sim.seed });
      return c;
    },
    { clock },
  );
  const instance = cloud.describeInstances()[0];
  if (!instance) throw new Error(`${file} holds no instance; delete it to start a fresh simulated node`);
  if (instance.instanceType !== config.sim.instanceType) {
    log.warn({ saved: instance.instanceType, requested: config.sim.instanceType, file }, 'sim cloud already exists with another instance type; keeping the saved node');
  }
  const provider = new SimProvider({
    cloud,
    instanceId: instance.id,
    clock,
    latency: scaledLatency(scale),
    onMutate: () => saveSimCloud(cloud, file),
  });
  return { provider };
}
