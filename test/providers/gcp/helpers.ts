/**
 * Test helpers: a GCE emulator over a fresh SimCloud seeded with one node,
 * the adapter built the way the daemon builds it (metadata, then the real
 * SDK over HTTP), and views of the cloud to compare against.
 */
import { SystemClock } from '../../../ipamd/util/clock.js';
import { CloudUnavailableError, ThrottledError } from '../../../providers/errors.js';
import { createComputeApi, createGcpProvider, type ComputeApi, type GcpProvider, type GcpSettings } from '../../../providers/gcp/index.js';
import { GceEmulator, newGceCloud, seedGceNode, type GceEmulatorOptions, type GceSeedOptions } from '../../../providers/gcp/emulator/index.js';
import { FaultInjector, type SimCloud } from '../../../providers/sim/index.js';

export const PROJECT = 'sim-project';
export const ZONE = 'us-central1-a';
export const NODE = 'gke-node-1';
export const TARGET = { project: PROJECT, zone: ZONE, instance: NODE };

export interface TestEmulator {
  emu: GceEmulator;
  cloud: SimCloud;
  faults: FaultInjector;
  /** Sim id of the node's nic0. */
  nicId: string;
  podsRangeId: string;
}

export async function gce(seed: GceSeedOptions = {}, opts: Omit<GceEmulatorOptions, 'cloud' | 'faults'> = {}): Promise<TestEmulator> {
  const cloud = newGceCloud({ seed: 5 });
  const id = seedGceNode(cloud, { podsCidr: '10.4.0.0/24', ...seed });
  const faults = new FaultInjector({ clock: { now: () => Date.now() }, provider: 'gcp', throttleCode: 'rateLimitExceeded' });
  const emu = new GceEmulator({ cloud, faults, operations: { polls: 1, completeAfterMs: 2_000 }, ...opts });
  await emu.listen();
  const nic = cloud.getInstance(id).interfaces[0]!;
  const podsRangeId = cloud.describeSecondaryRanges(nic.subnetId).find((r) => r.name === (seed.podsRangeName ?? 'pods'))!.id;
  return { emu, cloud, faults, nicId: nic.id, podsRangeId };
}

/** The settings the daemon would derive from `GCP_COMPUTE_ENDPOINT`, `GCE_METADATA_HOST` and `GCP_ACCESS_TOKEN`. */
export function settingsFor(emu: GceEmulator, over: Partial<GcpSettings> = {}): GcpSettings {
  return {
    computeEndpoint: { protocol: 'http', host: '127.0.0.1', port: Number(new URL(emu.url).port) },
    metadataHost: emu.host,
    accessToken: 'test-token',
    podsRangeName: 'pods',
    blockPrefixLength: 28,
    maxAliasRanges: 150,
    fingerprintRetries: 5,
    operationTimeoutMs: 30_000,
    ...over,
  };
}

export function provider(t: TestEmulator, over: Partial<GcpSettings> = {}): Promise<GcpProvider> {
  return createGcpProvider(settingsFor(t.emu, over), new SystemClock());
}

/** A second client of the same emulator (another writer, or a raw look at the API). */
export function compute(t: TestEmulator, token = 'test-token'): Promise<ComputeApi> {
  return createComputeApi({ projectId: PROJECT, endpoint: settingsFor(t.emu).computeEndpoint!, accessToken: token, clock: new SystemClock(), operationTimeoutMs: 30_000 });
}

/** nic0's alias ranges as the cloud holds them. */
export function cloudRanges(t: TestEmulator): string[] {
  return t.cloud.getInterface(t.nicId).prefixes;
}

export const throttled = (action: string) => new ThrottledError({ provider: 'gcp', operation: action, cloudCode: 'rateLimitExceeded', message: 'Quota exceeded' });
export const internal = (action: string) => new CloudUnavailableError({ provider: 'gcp', operation: action, cloudCode: 'INTERNAL_ERROR', message: 'Internal error. Please try again.' });
