/**
 * Test helpers: a GCE emulator over a fresh SimCloud seeded with one node,
 * the adapter built the way the daemon builds it (metadata, then the real
 * SDK over HTTP), and views of the cloud to compare against.
 *
 * The emulator runs with every strict behaviour on; only its operations are
 * short (20 ms instead of GCE's seconds) so the suite stays fast. A test
 * that needs to hold an operation RUNNING passes a VirtualClock instead.
 */
import { OAuth2Client } from 'google-auth-library';
import { SystemClock } from '../../../ipamd/util/clock.js';
import { CloudUnavailableError, ThrottledError } from '../../../providers/errors.js';
import {
  createComputeApi,
  createGcpProvider,
  type ComputeApi,
  type GcpClock,
  type GcpProvider,
  type GcpSettings,
} from '../../../providers/gcp/index.js';
import {
  GceEmulator,
  newGceCloud,
  seedGceNode,
  type GceEmulatorOptions,
  type GceSeedOptions,
} from '../../../providers/gcp/emulator/index.js';
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

/** Zone operations in tests: GCE's PENDING → RUNNING → DONE, in milliseconds. */
export const FAST_OPERATIONS = { durationMs: 20, pendingMs: 5 };

type EmulatorOptions = Omit<GceEmulatorOptions, 'cloud' | 'faults'>;

export async function gce(seed: GceSeedOptions = {}, opts: EmulatorOptions = {}): Promise<TestEmulator> {
  const cloud = newGceCloud({ seed: 5 });
  const id = seedGceNode(cloud, { podsCidr: '10.4.0.0/24', ...seed });
  const clock = { now: () => Date.now() };
  const faults = new FaultInjector({ clock, provider: 'gcp', throttleCode: 'rateLimitExceeded' });
  const emu = new GceEmulator({ cloud, faults, operations: FAST_OPERATIONS, ...opts });
  await emu.listen();
  const nic = cloud.getInstance(id).interfaces[0]!;
  const pods = seed.podsRangeName ?? 'pods';
  const podsRangeId = cloud.describeSecondaryRanges(nic.subnetId).find((r) => r.name === pods)!.id;
  return { emu, cloud, faults, nicId: nic.id, podsRangeId };
}

/** nic0's fingerprint as instances.get shows it now. */
export function fingerprint(t: TestEmulator): string {
  return t.emu.view.fingerprint(t.cloud.getInterface(t.nicId));
}

/** The wall clock, with every sleep the adapter asks for written down. */
export class RecordingClock extends SystemClock implements GcpClock {
  readonly sleeps: number[] = [];
  override sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return super.sleep(ms, signal);
  }
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

export function provider(
  t: TestEmulator,
  over: Partial<GcpSettings> = {},
  clock: GcpClock = new SystemClock(),
): Promise<GcpProvider> {
  return createGcpProvider(settingsFor(t.emu, over), clock);
}

/** A second client of the same emulator (another writer, or a raw look at the API). */
export function compute(t: TestEmulator, token = 'test-token'): Promise<ComputeApi> {
  const endpoint = settingsFor(t.emu).computeEndpoint!;
  const clock = new SystemClock();
  return createComputeApi({ projectId: PROJECT, endpoint, accessToken: token, clock, operationTimeoutMs: 30_000 });
}

/** The three SDK clients, deep-imported as the adapter does, for a look at the wire. */
export async function sdkClients(e: TestEmulator, token = 'tok') {
  const { InstancesClient } = await import('@google-cloud/compute/build/src/v1/instances_client.js');
  const { ZoneOperationsClient } = await import('@google-cloud/compute/build/src/v1/zone_operations_client.js');
  const { SubnetworksClient } = await import('@google-cloud/compute/build/src/v1/subnetworks_client.js');
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: token });
  const port = Number(new URL(e.emu.url).port);
  const opts = { apiEndpoint: '127.0.0.1', port, protocol: 'http', authClient, fallback: true };
  const instances = new InstancesClient(opts);
  const zoneOps = new ZoneOperationsClient(opts);
  const subnets = new SubnetworksClient(opts);
  const close = async () => {
    await Promise.all([instances.close(), zoneOps.close(), subnets.close()]);
  };
  return { instances, zoneOps, subnets, authClient, close };
}

/** nic0's alias ranges as the cloud holds them. */
export function cloudRanges(t: TestEmulator): string[] {
  return t.cloud.getInterface(t.nicId).prefixes;
}

export const throttled = (action: string) =>
  new ThrottledError({ provider: 'gcp', operation: action, cloudCode: 'rateLimitExceeded', message: 'Quota exceeded' });
export const internal = (action: string) =>
  new CloudUnavailableError({
    provider: 'gcp',
    operation: action,
    cloudCode: 'INTERNAL_ERROR',
    message: 'Internal error. Please try again.',
  });
