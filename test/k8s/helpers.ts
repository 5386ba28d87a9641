/**
 * Test helpers for the Kubernetes integration: a fake API server with a
 * kubeconfig, the real client APIs pointed at it, object builders, and a
 * pre-seeded sim cloud (several subnets) for daemons started on it.
 */
import { mkdtempSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import YAML from 'yaml';
import { Ajv } from 'ajv';
import { createApis, loadKubeConfig, type K8sApis } from '../../ipamd/k8s/client.js';
import { SimCloud, saveSimCloud } from '../../providers/sim/index.js';
import { SystemClock } from '../../ipamd/util/clock.js';
import { REPO } from '../helpers/daemon-process.js';
import { FakeApiServer } from './fake-apiserver.js';
import type { K8sObject } from './fake/store.js';

export interface FakeCluster {
  server: FakeApiServer;
  dir: string;
  kubeconfig: string;
  apis: K8sApis;
}

/** Validator for PodSubnetConfig built from the CRD in deploy/ (what the real API server enforces). */
export function crdValidator(): (obj: K8sObject) => string | undefined {
  const crd = YAML.parse(readFileSync(path.join(REPO, 'deploy/kustomize/base/crd.yaml'), 'utf8')) as {
    spec: { versions: Array<{ name: string; schema: { openAPIV3Schema: object } }> };
  };
  const schema = crd.spec.versions.find((v) => v.name === 'v1alpha1')!.schema.openAPIV3Schema;
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validate = ajv.compile(stripK8sExtensions(schema) as object);
  return (obj) => (validate(obj) ? undefined : ajv.errorsText(validate.errors, { dataVar: '' }));
}

/**
 * `x-kubernetes-*` keys and `nullable` are Kubernetes extensions; ajv needs
 * plain JSON Schema. `x-kubernetes-list-type: set` is what the API server
 * enforces as unique items, so it becomes `uniqueItems`.
 */
export function stripK8sExtensions(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(stripK8sExtensions);
  if (typeof s !== 'object' || s === null) return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) if (!k.startsWith('x-kubernetes-') && k !== 'nullable') out[k] = stripK8sExtensions(v);
  if ((s as Record<string, unknown>)['x-kubernetes-list-type'] === 'set') out.uniqueItems = true;
  return out;
}

export async function startFakeCluster(opts: { bookmarkIntervalMs?: number } = {}): Promise<FakeCluster> {
  const server = await new FakeApiServer({ validators: { podsubnetconfigs: crdValidator() }, ...opts }).start();
  const dir = mkdtempSync(path.join(tmpdir(), 'k8s-'));
  const kubeconfig = server.writeKubeconfig(dir);
  const apis = createApis(loadKubeConfig({ KUBECONFIG: kubeconfig }), new SystemClock(), 5000);
  return { server, dir, kubeconfig, apis };
}

export function nodeObject(name: string, o: { labels?: Record<string, string>; annotations?: Record<string, string>; providerID?: string; cpu?: string } = {}) {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels }, annotations: { ...o.annotations } },
    spec: o.providerID ? { providerID: o.providerID } : {},
    status: {
      capacity: { cpu: o.cpu ?? '2', pods: '29' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2026-01-01T00:00:00Z' }],
    },
  };
}

let podSeq = 0;
export function podObject(o: { name?: string; namespace?: string; uid?: string; nodeName: string; phase?: string; hostNetwork?: boolean; podIP?: string; annotations?: Record<string, string> }) {
  const name = o.name ?? `pod-${++podSeq}`;
  return {
    metadata: { name, namespace: o.namespace ?? 'default', ...(o.uid ? { uid: o.uid } : {}), annotations: { ...o.annotations } },
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
export function seedSimCloud(stateDir: string, extra: Record<string, string> = {}, opts: { instanceType?: string; seed?: number; fill?: string[] } = {}): SeededCloud {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const cloud = new SimCloud({ seed: opts.seed ?? 1 });
  const zone = 'us-east-1a';
  const instanceId = cloud.seedNode({ instanceType: opts.instanceType ?? 'm5.large', subnetCidr: '10.0.0.0/24', zone, seed: opts.seed ?? 1 });
  const vpcId = cloud.describeVpcs()[0]!.id;
  const nodeSubnet = cloud.describeSubnets({ vpcId }).find((s) => s.cidr === '10.0.0.0/24')!.id;
  const subnets: Record<string, string> = {};
  for (const [name, cidr] of Object.entries(extra)) subnets[name] = cloud.createSubnet({ vpcId, cidr, zone, tags: { Name: name } }).id;
  // Someone else took every address of these subnets.
  for (const name of opts.fill ?? []) cloud.occupyRandom(subnets[name]!, cloud.getSubnet(subnets[name]!).availableAddresses, 'other tenant');
  saveSimCloud(cloud, path.join(stateDir, 'sim-cloud.json'));
  return { stateDir, instanceId, vpcId, nodeSubnet, subnets, zone };
}

/** Polls `fn` until it returns a truthy value; throws with `what` after `ms` (a hang guard, not a timing assertion). */
export async function until<T>(what: string, fn: () => T | Promise<T>, ms = 20_000, everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
