/**
 * @module azure emulated node
 * An Azure emulator with one seeded node, optionally kept in a state file:
 * what `vpc-ipamctl emulate --provider azure` and the daemon's embedded mode
 * run. Returns the endpoint and the environment that points ipamd at it.
 */
import type { EmulatedNode } from '../../emulator-kit/emulated-node.js';
import type { SimClock } from '../../sim/index.js';
import { AzureWorld } from './azure-world.js';
import { DEFAULT_SCOPE, openAzureWorld } from './world-file.js';
import type { LroMode } from './operations.js';
import { AZURE_DEFAULTS, seedAzureNode } from './seed.js';
import { startAzureEmulator, type AzureEmulator } from './server.js';

export interface EmulatedAzureNodeOptions {
  host?: string;
  port?: number;
  vmName?: string;
  vmSize?: string;
  subnetCidr?: string;
  /**
   * A Pod subnet (`pods`) in the same VNet, and a second NIC of the VM in it
   * (`<vm>-pod-nic`, tagged `vpc-ipam.io/pod-nic=true`, created with the VM):
   * ipamd puts Pod addresses on that NIC (docs/azure.md, "Pod subnet").
   */
  podSubnetCidr?: string;
  /** Load the world from this file and save it after every change. */
  stateFile?: string;
  lro?: LroMode;
  /**
   * How long a NIC write stays InProgress, and the Retry-After it carries.
   * Default 0 ms and 0 s, so `emulate` and the embedded emulator answer at
   * once; Azure's values are 10 s of Retry-After and seconds of work
   * (REALISTIC_LRO, docs/sim-cloud.md).
   */
  operationMs?: number;
  retryAfterSeconds?: number;
  /** Fraction of ARM calls answered 429 with Retry-After (0-1). */
  throttleRatio?: number;
  /** How far IMDS lags ARM, ms (default 0). */
  imdsDelayMs?: number;
  /** The emulator's clock (default the system clock): operation timing, IMDS lag, the request log. */
  clock?: SimClock;
}

export interface EmulatedAzureNode extends EmulatedNode {
  emulator: AzureEmulator;
  endpoint: string;
  vmName: string;
  /** ARM id of the Pod subnet, when there is one. */
  podSubnetId: string | undefined;
  /** Variables that point ipamd at this emulator. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export const EMULATED_VM_NAME = 'aks-nodepool1-vm0';

export async function startEmulatedAzureNode(o: EmulatedAzureNodeOptions = {}): Promise<EmulatedAzureNode> {
  const vmName = o.vmName ?? EMULATED_VM_NAME;
  const seed = () => {
    const world = AzureWorld.create(DEFAULT_SCOPE, { seed: 1 });
    seedAzureNode(world, {
      vmName,
      vmSize: o.vmSize ?? AZURE_DEFAULTS.vmSize,
      subnetCidr: o.subnetCidr ?? AZURE_DEFAULTS.subnetCidr,
      ...(o.podSubnetCidr ? { podSubnet: { name: 'pods', cidr: o.podSubnetCidr }, podNic: {} } : {}),
    });
    return world;
  };
  const opened = o.stateFile ? openAzureWorld(o.stateFile, seed) : { world: seed(), save: () => {} };
  const emulator = await startAzureEmulator({
    world: opened.world,
    onChange: opened.save,
    lro: { mode: o.lro ?? 'async', durationMs: o.operationMs ?? 0, retryAfterSeconds: o.retryAfterSeconds ?? 0 },
    ...(o.host ? { host: o.host } : {}),
    ...(o.port !== undefined ? { port: o.port } : {}),
    ...(o.throttleRatio ? { throttleRatio: o.throttleRatio } : {}),
    ...(o.imdsDelayMs ? { imdsDelayMs: o.imdsDelayMs } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
  });
  const world = opened.world;
  const pods = world
    .vnets()
    .flatMap((v) => world.subnetsOf(v))
    .find((s) => s.tags['azure:name'] === 'pods');
  const podSubnetId = pods ? world.subnetArmId(pods) : undefined;
  const name = world.vms()[0]?.tags['azure:name'] ?? vmName;
  return {
    emulator,
    endpoint: emulator.url,
    vmName: name,
    instance: name,
    podSubnetId,
    env: {
      VPC_IPAM_PROVIDER: 'azure',
      AZURE_ARM_ENDPOINT: emulator.url,
      AZURE_IMDS_ENDPOINT: emulator.url,
      AZURE_LRO_POLL_INTERVAL_MS: '50',
      ...(podSubnetId ? { AZURE_POD_SUBNET_ID: podSubnetId } : {}),
    },
    close: async () => {
      await emulator.close();
      opened.save();
    },
  };
}
