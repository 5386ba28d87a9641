/**
 * @module gcp compute facade
 * The Compute calls the adapter makes, over `@google-cloud/compute` 6.x in
 * its default REST (fallback) mode, and nothing else. The SDK is loaded here
 * and only here, lazily, by deep imports of the three clients used
 * (node-stack.md §2.3: the package index costs ~2.3 s and ~240 MB RSS; the
 * three deep imports ~1.1 s and ~165 MB), so a daemon on another cloud
 * never pays for it.
 *
 * Every SDK failure is mapped here, once, by `errors.ts`; callers see only
 * typed CloudErrors and plain records (`types.ts`).
 *
 * Removing the last alias range: the SDK serialises requests with
 * proto3-JSON, which drops empty repeated fields, so `aliasIpRanges: []`
 * goes out as no field at all and GCE changes nothing (cloud-apis.md §0.11).
 * For that one case this module sends the PATCH itself through the same
 * google-auth-library client the SDK uses (same credentials, same
 * endpoint), with `"aliasIpRanges": []` written out, then follows the
 * returned operation with the SDK as usual.
 *
 * Following an operation: `zoneOperations.wait` blocks for up to about two
 * minutes, but "might return before the default deadline is reached, or
 * might return after zero seconds" when the server is overloaded (API
 * reference of zoneOperations.wait). A wait that comes back early and not
 * DONE is followed by a growing pause, so an overloaded GCE is not answered
 * with a hot loop of waits. The deadline (`operationTimeoutMs`) is checked
 * between waits: one wait can overrun it by up to its own two minutes.
 */
import type { protos } from '@google-cloud/compute';
import { CloudUnavailableError } from '../errors.js';
import { mapGcpError } from './errors.js';
import type { AliasRange, GcpClock, GceInstance, GceOperation, GceSubnetwork } from './types.js';

type IOperation = protos.google.cloud.compute.v1.IOperation;
type IInstance = protos.google.cloud.compute.v1.IInstance;

export interface ComputeTarget {
  project: string;
  zone: string;
  instance: string;
}

export interface ComputeEndpoint {
  protocol: 'http' | 'https';
  host: string;
  port: number;
}

export interface ComputeOptions {
  /**
   * The project, known from the metadata server. Given to the clients so
   * Application Default Credentials never go looking for one: without it
   * google-auth-library runs `gcloud config config-helper` when gcloud is
   * installed, a slow child process (seconds) that may touch the network.
   */
  projectId: string;
  /** Undefined: compute.googleapis.com. */
  endpoint?: ComputeEndpoint;
  /** A static bearer token (emulators, externally minted tokens). Undefined: Application Default Credentials. */
  accessToken?: string;
  clock: GcpClock;
  /** Give up following an operation after this long (it may still land; the next resync sees it). */
  operationTimeoutMs: number;
}

export interface ComputeApi {
  getInstance(t: ComputeTarget): Promise<GceInstance>;
  /** PATCHes nic0's alias ranges with its fingerprint; returns the operation GCE started. */
  updateAliasRanges(
    t: ComputeTarget,
    fingerprint: string,
    ranges: AliasRange[],
    requestId: string,
  ): Promise<GceOperation>;
  /** Follows an operation with `zoneOperations.wait` until DONE. */
  waitOperation(t: ComputeTarget, op: GceOperation): Promise<GceOperation>;
  getSubnetwork(project: string, region: string, name: string): Promise<GceSubnetwork>;
  /** Every instance of the project (all zones, all pages). */
  listInstances(project: string): Promise<GceInstance[]>;
  close(): Promise<void>;
}

interface AuthLike {
  request<T>(opts: { url: string; method: string; data: unknown; headers?: Record<string, string> }): Promise<{
    data: T;
  }>;
}

/** A wait answered sooner than this, and not DONE, came back early (see the module comment). */
const EARLY_WAIT_MS = 1_000;
/** Pause after an early wait: doubles from the first to the last while waits keep coming back early. */
const WAIT_PAUSE_FIRST_MS = 50;
const WAIT_PAUSE_MAX_MS = 2_000;

/** Loads the SDK and builds the clients. */
export async function createComputeApi(o: ComputeOptions): Promise<ComputeApi> {
  // `.default` (module.exports) for these CommonJS modules: Node also offers named exports, the daemon bundle
  // (ipamd/build/bundle.ts) only the default.
  const [{ InstancesClient }, { ZoneOperationsClient }, { SubnetworksClient }] = (
    await Promise.all([
      import('@google-cloud/compute/build/src/v1/instances_client.js'),
      import('@google-cloud/compute/build/src/v1/zone_operations_client.js'),
      import('@google-cloud/compute/build/src/v1/subnetworks_client.js'),
    ])
  ).map((m) => m.default) as [
    typeof import('@google-cloud/compute/build/src/v1/instances_client.js'),
    typeof import('@google-cloud/compute/build/src/v1/zone_operations_client.js'),
    typeof import('@google-cloud/compute/build/src/v1/subnetworks_client.js'),
  ];
  type ClientOptions = NonNullable<ConstructorParameters<typeof InstancesClient>[0]>;
  const opts: ClientOptions = { fallback: true, projectId: o.projectId };
  const e = o.endpoint;
  if (e) Object.assign(opts, { apiEndpoint: e.host, port: e.port, protocol: e.protocol });
  const { GoogleAuth, OAuth2Client } = (await import('google-auth-library')).default;
  if (o.accessToken !== undefined) {
    const authClient = new OAuth2Client();
    // No expiry_date: the token is used as is and never refreshed (there is nothing to refresh it with).
    authClient.setCredentials({ access_token: o.accessToken });
    opts.authClient = authClient;
  } else {
    // One ADC object for the three clients, so they share one token (on GCE: from the metadata server).
    opts.auth = new GoogleAuth({ projectId: o.projectId, scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
  }
  const instances = new InstancesClient(opts);
  const zoneOps = new ZoneOperationsClient(opts);
  const subnets = new SubnetworksClient(opts);
  const base = e ? `${e.protocol}://${e.host}:${e.port}` : 'https://compute.googleapis.com';
  const auth = instances.auth as unknown as AuthLike;

  async function call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw mapGcpError(err, operation);
    }
  }

  return {
    getInstance: (t) => call('instances.get', async () => toInstance((await instances.get(t))[0])),

    updateAliasRanges: (t, fingerprint, ranges, requestId) =>
      call('instances.updateNetworkInterface', async () => {
        if (ranges.length === 0) {
          const zone = `${base}/compute/v1/projects/${enc(t.project)}/zones/${enc(t.zone)}`;
          const instance = `${zone}/instances/${enc(t.instance)}`;
          const url = `${instance}/updateNetworkInterface?networkInterface=nic0&requestId=${enc(requestId)}`;
          const data = { name: 'nic0', fingerprint, aliasIpRanges: [] };
          const headers = { 'content-type': 'application/json' };
          const res = await auth.request<IOperation>({ url, method: 'PATCH', data, headers });
          return toOperation(res.data);
        }
        const [lro] = await instances.updateNetworkInterface({
          ...t,
          networkInterface: 'nic0',
          requestId,
          networkInterfaceResource: { name: 'nic0', fingerprint, aliasIpRanges: ranges },
        });
        // No .promise() on compute LROs; the Operation is in latestResponse (cloud-apis.md §0.10).
        return toOperation(lro.latestResponse as IOperation);
      }),

    waitOperation: (t, first) =>
      call('zoneOperations.wait', async () => {
        const deadline = o.clock.now() + o.operationTimeoutMs;
        let op = first;
        for (let early = 0; op.status !== 'DONE';) {
          if (o.clock.now() >= deadline) {
            const message = `operation ${op.name} not DONE after ${o.operationTimeoutMs} ms`;
            const init = { provider: 'gcp', operation: 'zoneOperations.wait', cloudCode: 'operationTimeout', message };
            throw new CloudUnavailableError(init);
          }
          const asked = o.clock.now();
          op = toOperation((await zoneOps.wait({ project: t.project, zone: t.zone, operation: op.name }))[0]);
          if (op.status === 'DONE' || o.clock.now() - asked >= EARLY_WAIT_MS) {
            early = 0;
            continue;
          }
          const pause = Math.min(WAIT_PAUSE_MAX_MS, WAIT_PAUSE_FIRST_MS * 2 ** early++, deadline - o.clock.now());
          if (pause > 0) await o.clock.sleep(pause);
        }
        return op;
      }),

    getSubnetwork: (project, region, name) =>
      call('subnetworks.get', async () => {
        const [s] = await subnets.get({ project, region, subnetwork: name });
        return {
          name: s.name ?? name,
          region: s.region ?? region,
          network: s.network ?? '',
          ipCidrRange: s.ipCidrRange ?? '',
          secondaryIpRanges: (s.secondaryIpRanges ?? []).map((r) => ({
            rangeName: r.rangeName ?? '',
            ipCidrRange: r.ipCidrRange ?? '',
          })),
        };
      }),

    listInstances: (project) =>
      call('instances.aggregatedList', async () => {
        const out: GceInstance[] = [];
        // autoPaginate:false only silences gax's warning; the async iterator always pages itself.
        const pages = instances.aggregatedListAsync({ project, maxResults: 500 }, { autoPaginate: false });
        for await (const [, scoped] of pages) {
          for (const i of scoped.instances ?? []) if (i.networkInterfaces?.length) out.push(toInstance(i));
        }
        return out;
      }),

    close: async () => {
      await Promise.allSettled([instances.close(), zoneOps.close(), subnets.close()]);
    },
  };
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

function lastSegment(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

function toInstance(i: IInstance): GceInstance {
  const n = i.networkInterfaces?.[0];
  return {
    id: String(i.id ?? ''),
    name: i.name ?? '',
    zone: lastSegment(i.zone ?? ''),
    machineType: lastSegment(i.machineType ?? ''),
    nic0: {
      name: n?.name ?? 'nic0',
      networkIP: n?.networkIP ?? '',
      fingerprint: n?.fingerprint ?? '',
      network: n?.network ?? '',
      subnetwork: n?.subnetwork ?? '',
      aliasIpRanges: (n?.aliasIpRanges ?? []).map((r) => ({
        ipCidrRange: r.ipCidrRange ?? '',
        ...(r.subnetworkRangeName ? { subnetworkRangeName: r.subnetworkRangeName } : {}),
      })),
    },
  };
}

function toOperation(op: IOperation | undefined | null): GceOperation {
  const status = String(op?.status ?? 'PENDING');
  const errors = (op?.error?.errors ?? []).map((e) => ({ code: e.code ?? 'UNKNOWN', message: e.message ?? '' }));
  return {
    name: op?.name ?? '',
    status: status === 'DONE' ? 'DONE' : status === 'RUNNING' ? 'RUNNING' : 'PENDING',
    ...(errors.length ? { error: { errors } } : {}),
    ...(op?.httpErrorStatusCode ? { httpErrorStatusCode: op.httpErrorStatusCode } : {}),
  };
}
