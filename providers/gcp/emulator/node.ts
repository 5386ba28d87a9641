/**
 * @module gce emulated node
 * A GCE emulator with one seeded node, optionally kept in a state file:
 * what `vpc-ipamctl emulate --provider gcp` and the daemon's embedded mode
 * (`VPC_IPAM_GCP_EMBEDDED_EMULATOR=true`) run. Returns the endpoint and the
 * environment that points ipamd at it.
 */
import type { EmulatedNode } from '../../emulator-kit/emulated-node.js';
import { FaultInjector, openSimCloud, saveSimCloud, type SimClock, type SimCloud } from '../../sim/index.js';
import { WALL_CLOCK, type OperationTiming } from './operations.js';
import { GCE_SEED_DEFAULTS, newGceCloud, seedGceNode } from './seed.js';
import { GceEmulator } from './server.js';

export interface EmulatedGceNodeOptions {
  host?: string;
  port?: number;
  instanceName?: string;
  machineType?: string;
  /** Primary range of the node subnetwork. */
  primaryCidr?: string;
  podsRangeName?: string;
  /** The Pods secondary range. */
  podsCidr?: string;
  /** Load the cloud from this file and save it after every change. */
  stateFile?: string;
  /** Fraction (0-1) of Compute calls answered 429. */
  throttleRatio?: number;
  /** Seed of address choice for a new cloud. */
  seed?: number;
  /** Timestamps of the cloud's records and operation timing (the daemon passes its clock). */
  clock?: SimClock;
  /** Zone operation timing; default GCE-like (several seconds, see operations.ts). */
  operations?: OperationTiming;
  /** How far the metadata server lags Compute, ms (default 0). */
  metadataDelayMs?: number;
}

export interface EmulatedGceNode extends EmulatedNode {
  emulator: GceEmulator;
  cloud: SimCloud;
  faults: FaultInjector;
  /** `http://127.0.0.1:PORT` (Compute REST and the metadata server). */
  endpoint: string;
  instanceName: string;
  /** Variables that point ipamd at this emulator. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startEmulatedGceNode(o: EmulatedGceNodeOptions = {}): Promise<EmulatedGceNode> {
  const instanceName = o.instanceName ?? GCE_SEED_DEFAULTS.instanceName;
  const seed = (): SimCloud => {
    const cloud = newGceCloud({ seed: o.seed ?? 1, ...(o.clock ? { clock: o.clock } : {}) });
    seedGceNode(cloud, {
      instanceName,
      ...(o.machineType ? { machineType: o.machineType } : {}),
      ...(o.primaryCidr ? { primaryCidr: o.primaryCidr } : {}),
      ...(o.podsRangeName ? { podsRangeName: o.podsRangeName } : {}),
      ...(o.podsCidr ? { podsCidr: o.podsCidr } : {}),
    });
    return cloud;
  };
  const clock = o.clock ? { clock: o.clock } : {};
  const cloud = o.stateFile ? openSimCloud(o.stateFile, seed, { provider: 'gcp', ...clock }) : seed();
  const save = o.stateFile ? () => saveSimCloud(cloud, o.stateFile!) : () => {};
  const throttleCode = 'rateLimitExceeded';
  const faults = new FaultInjector({ clock: o.clock ?? WALL_CLOCK, provider: 'gcp', throttleCode });
  const emulator = new GceEmulator({
    cloud,
    faults,
    onMutate: save,
    ...clock,
    ...(o.operations ? { operations: o.operations } : {}),
    ...(o.throttleRatio ? { throttleRatio: o.throttleRatio } : {}),
    ...(o.metadataDelayMs ? { metadataDelayMs: o.metadataDelayMs } : {}),
  });
  await emulator.listen(o.port ?? 0, o.host ?? '127.0.0.1');
  const name = emulator.view.nodes()[0]?.name ?? instanceName;
  return {
    emulator,
    cloud,
    faults,
    endpoint: emulator.url,
    instanceName: name,
    instance: name,
    env: {
      VPC_IPAM_PROVIDER: 'gcp',
      GCP_COMPUTE_ENDPOINT: emulator.url,
      GCE_METADATA_HOST: emulator.host,
      GCP_ACCESS_TOKEN: 'emulator-token',
      ...(o.podsRangeName ? { GCP_POD_RANGE_NAME: o.podsRangeName } : {}),
    },
    close: async () => {
      await emulator.close();
      save();
    },
  };
}
