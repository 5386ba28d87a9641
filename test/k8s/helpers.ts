/**
 * Test helpers for the Kubernetes integration: a fake API server with a
 * kubeconfig, the real client APIs pointed at it, object builders, and a
 * pre-seeded sim cloud (several subnets) for daemons started on it.
 */
import { eventually } from '../helpers/eventually.js';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { expect } from 'vitest';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseKubeConnection } from '../../ipamd/config/kube-connection.js';
import { createApis, loadKubeConfig, type K8sApis } from '../../ipamd/k8s/client.js';
import { SimCloud, saveSimCloud } from '../../providers/sim/index.js';
import { SystemClock } from '../../ipamd/util/clock.js';
import { REPO } from '../helpers/daemon-process.js';
import { FakeApiServer, type FakeApiServerOptions } from './fake-apiserver.js';
import { loadCrd, stripK8sExtensions, type ServedCrd } from './fake/crd.js';
import type { K8sObject } from './fake/store.js';

export interface FakeCluster {
  server: FakeApiServer;
  dir: string;
  kubeconfig: string;
  apis: K8sApis;
}

/** The podsubnetconfigs CRD as deploy/ ships it (what the real API server serves). */
export function servedCrd(): ServedCrd {
  return loadCrd(path.join(REPO, 'deploy/kustomize/base/crd.yaml'));
}

/** The nodeaddresspools CRD as deploy/ ships it. */
export function servedPoolCrd(): ServedCrd {
  return loadCrd(path.join(REPO, 'deploy/kustomize/base/crd-nodeaddresspool.yaml'));
}

/** The AWS VPC CNI's ENIConfig CRD, as aws-node installs it (a cluster moved over from aws-node has it). */
export function servedEniConfigCrd(): ServedCrd {
  return loadCrd(path.join(REPO, 'test/k8s/fake/eniconfig-crd.yaml'));
}

/** Validator for PodSubnetConfig built from the CRD in deploy/ (what the real API server enforces). */
export function crdValidator(): (obj: K8sObject) => string | undefined {
  return servedCrd().validate;
}

export { stripK8sExtensions };

export interface FakeClusterOptions {
  bookmarkIntervalMs?: number;
  /** HTTPS with a CA made now; the client still reads a kubeconfig (see `inCluster` for the Pod's path). */
  tls?: boolean;
  podTerminationMs?: FakeApiServerOptions['podTerminationMs'];
  /** Also serve the AWS VPC CNI's ENIConfig CRD (a cluster that ran aws-node). */
  eniConfigCrd?: boolean;
}

/** A daemon on the AWS emulator at `endpoint` under AWS custom networking, growing one address at a time. */
export function awsCustomNetworkingEnv(endpoint: string): Record<string, string> {
  return {
    VPC_IPAM_PROVIDER: 'aws',
    AWS_EC2_ENDPOINT: endpoint,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: endpoint,
    AWS_REGION: 'us-east-1',
    AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true',
    WARM_IP_TARGET: '1',
    MINIMUM_IP_TARGET: '1',
    VPC_IPAM_AWS_ATTACH_WAIT_SECONDS: '5',
  };
}

export async function startFakeCluster(opts: FakeClusterOptions = {}): Promise<FakeCluster> {
  const { eniConfigCrd, ...rest } = opts;
  const crds = [servedCrd(), servedPoolCrd(), ...(eniConfigCrd ? [servedEniConfigCrd()] : [])];
  const server = await new FakeApiServer({ crds, ...rest }).start();
  const dir = mkdtempSync(path.join(tmpdir(), 'k8s-'));
  const kubeconfig = server.writeKubeconfig(dir);
  const apis = createApis(loadKubeConfig(parseKubeConnection({ KUBECONFIG: kubeconfig })), new SystemClock(), 5000);
  return { server, dir, kubeconfig, apis };
}

export function nodeObject(
  name: string,
  o: { labels?: Record<string, string>; annotations?: Record<string, string>; providerID?: string; cpu?: string } = {},
) {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels }, annotations: { ...o.annotations } },
    spec: o.providerID ? { providerID: o.providerID } : {},
    status: {
      capacity: { cpu: o.cpu ?? '2', pods: '29' },
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          message: 'kubelet is posting ready status',
          lastHeartbeatTime: '2026-01-01T00:00:00Z',
          lastTransitionTime: '2026-01-01T00:00:00Z',
        },
      ],
    },
  };
}

let podSeq = 0;
export function podObject(o: {
  name?: string;
  namespace?: string;
  uid?: string;
  nodeName: string;
  phase?: string;
  hostNetwork?: boolean;
  podIP?: string;
  annotations?: Record<string, string>;
}) {
  const name = o.name ?? `pod-${++podSeq}`;
  return {
    metadata: {
      name,
      namespace: o.namespace ?? 'default',
      ...(o.uid ? { uid: o.uid } : {}),
      annotations: { ...o.annotations },
    },
    spec: { nodeName: o.nodeName, hostNetwork: o.hostNetwork ?? false, containers: [{ name: 'app', image: 'app:1' }] },
    status: { phase: o.phase ?? 'Pending', ...(o.podIP ? { podIP: o.podIP } : {}) },
  };
}

export interface SeededCloud {
  stateDir: string;
  instanceId: string;
  vpcId: string;
  nodeSubnet: string;
  /** Extra empty subnets in the node's zone, by name. */
  subnets: Record<string, string>;
  zone: string;
}

/** Writes `<stateDir>/sim-cloud.json` with a node and extra subnets, as the sim setup would find it. */
export function seedSimCloud(
  stateDir: string,
  extra: Record<string, string> = {},
  opts: { instanceType?: string; seed?: number; fill?: string[] } = {},
): SeededCloud {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const cloud = new SimCloud({ seed: opts.seed ?? 1 });
  const zone = 'us-east-1a';
  const instanceId = cloud.seedNode({
    instanceType: opts.instanceType ?? 'm5.large',
    subnetCidr: '10.0.0.0/24',
    zone,
    seed: opts.seed ?? 1,
  });
  const vpcId = cloud.describeVpcs()[0]!.id;
  const nodeSubnet = cloud.describeSubnets({ vpcId }).find((s) => s.cidr === '10.0.0.0/24')!.id;
  const subnets: Record<string, string> = {};
  for (const [name, cidr] of Object.entries(extra))
    subnets[name] = cloud.createSubnet({ vpcId, cidr, zone, tags: { Name: name } }).id;
  // Someone else took every address of these subnets.
  for (const name of opts.fill ?? [])
    cloud.occupyRandom(subnets[name]!, cloud.getSubnet(subnets[name]!).availableAddresses, 'other tenant');
  saveSimCloud(cloud, path.join(stateDir, 'sim-cloud.json'));
  return { stateDir, instanceId, vpcId, nodeSubnet, subnets, zone };
}

/** The failed call's HTTP status and parsed Status body (ApiException keeps the body as text). */
export async function refusal(p: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown> }> {
  const err = (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as { code: number; body: string } | undefined;
  expect(err, 'the API server accepted it').toBeDefined();
  return { code: err!.code, body: JSON.parse(err!.body) as Record<string, unknown> };
}

export interface SeenEvent {
  type: string;
  name: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  finalizers?: string[];
}

/** A client-node Watch on `path` recording what it delivers; `stop()` ends it. */
export async function recordWatch(apis: K8sApis, path: string, query: Record<string, string> = {}) {
  const seen: SeenEvent[] = [];
  const ac = await apis.watch.watch(
    path,
    query,
    (type, obj: { metadata?: Omit<SeenEvent, 'type'> }) => {
      const m: Omit<SeenEvent, 'type'> = obj.metadata ?? { name: '?' };
      const { deletionTimestamp, deletionGracePeriodSeconds, finalizers } = m;
      seen.push({ type, name: m.name, deletionTimestamp, deletionGracePeriodSeconds, finalizers });
    },
    () => {},
  );
  return { seen, stop: () => ac.abort() };
}

/** Polls `fn` until it returns a truthy value; throws with `what` after `ms` (a hang guard, not a timing assertion). */
export async function until<T>(
  what: string,
  fn: () => T | Promise<T>,
  ms = 20_000,
  everyMs = 25,
): Promise<NonNullable<T>> {
  // Truthy, as these tests have always read it (0 and '' mean "not yet").
  return eventually(what, async () => (await fn()) || undefined, { timeoutMs: ms, everyMs }) as Promise<NonNullable<T>>;
}
