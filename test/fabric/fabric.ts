/**
 * @module the VPC fabric, assembled
 * Two EC2 nodes in one VPC, a VPC router with EC2's source/destination check, an Internet gateway and an
 * Internet host, a metadata endpoint, one Kubernetes Service, and Pods on the primary and on a secondary ENI
 * of each node (see README.md for the drawing). Every namespace is named `vpcit-<worker>-fab-…`, so the sweep
 * in test/global-setup.ts removes them if this worker dies; `stop()` removes them otherwise, failure or not.
 */
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PluginCommand } from '../cni/plugin-process.js';
import { netnsNames, podNsPrefix } from '../helpers/test-netns.js';
import { FabricCloud } from './cloud.js';
import { runRaw } from './exec.js';
import { INTERNET_EXCLUDED_CIDR, InternetGateway } from './igw.js';
import { installKubeProxy } from './kube-proxy.js';
import { FabricNode, type Pod } from './node.js';
import { openPortal, type Portal } from './portal.js';
import { ECHO_PORT, echoServer } from './probe.js';
import { VpcRouter } from './router.js';

export const IMDS_ADDRESS = '169.254.169.254';
/** Public IPv4 addresses EC2 associated with each node's primary private address. */
export const PUBLIC_IPS: Record<string, string> = { n1: '192.0.2.11', n2: '192.0.2.12' };
/** Per-node ipamd settings: node 1 runs the AWS default SNAT, node 2 EXTERNALSNAT=true. */
export const NODE_ENV: Record<string, Record<string, string>> = {
  n1: { AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: INTERNET_EXCLUDED_CIDR },
  n2: { AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true' },
};
/** Pods wanted per node: name → primary (device 0) or secondary ENI. */
const WANTED: Record<string, Record<string, 'primary' | 'secondary'>> = {
  n1: { p: 'primary', s1: 'secondary', s2: 'secondary' },
  n2: { p: 'primary', s1: 'secondary' },
};
/** Nodes boot with loose rp_filter (systemd's default); VPC_IPAM_FABRIC_RP_FILTER=1 tries strict, 0 off. */
const RP_FILTER = ((v) => (v && /^[012]$/.test(v) ? Number(v) : 2))(process.env.VPC_IPAM_FABRIC_RP_FILTER);
/** The Service endpoint: a Pod on a secondary ENI of node 1 (n1/s1, on the same ENI, is the client). */
export const SERVICE_POD = { node: 'n1', name: 's2' } as const;

export class Fabric {
  readonly prefix = podNsPrefix('fab');
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vpc-fabric-'));
  cloud!: FabricCloud;
  router!: VpcRouter;
  igw!: InternetGateway;
  readonly nodes = new Map<string, FabricNode>();
  readonly internetNs = `${this.prefix}inet`;
  private readonly servers: net.Server[] = [];
  private imdsPortal: Portal | undefined;
  /** Setup steps with their duration, for the report. */
  readonly timings: string[] = [];

  constructor(private readonly plugin: PluginCommand) {}

  node(name: string): FabricNode {
    return this.nodes.get(name)!;
  }

  pod(node: string, name: string): Pod {
    const p = this.node(node).pods.get(name);
    if (!p) throw new Error(`no Pod ${node}/${name}`);
    return p;
  }

  private async step<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    const out = await fn();
    this.timings.push(`${what}: ${Date.now() - t0} ms`);
    return out;
  }

  async start(): Promise<void> {
    this.cloud = await FabricCloud.start(Object.keys(WANTED));
    for (const name of this.cloud.nodes) {
      this.nodes.set(
        name,
        new FabricNode({
          name,
          ns: `${this.prefix}${name}`,
          cloud: this.cloud,
          plugin: this.plugin,
          dir: path.join(this.dir, name),
          env: NODE_ENV[name] ?? {},
          podNsPrefix: this.prefix,
          rpFilter: RP_FILTER,
        }),
      );
    }
    await this.step('namespaces', async () => {
      for (const n of this.nodes.values()) await n.create();
    });
    this.router = new VpcRouter({
      ns: `${this.prefix}vpc`,
      cloud: this.cloud,
      localAddresses: [IMDS_ADDRESS],
      nodeNs: Object.fromEntries([...this.nodes].map(([k, n]) => [k, n.ns])),
    });
    await this.step('router', () => this.router.start());
    const publicOf = Object.fromEntries(this.cloud.nodes.map((n) => [this.cloud.primaryIpOf(n), PUBLIC_IPS[n]!]));
    this.igw = new InternetGateway({
      igwNs: `${this.prefix}igw`,
      internetNs: this.internetNs,
      routerNs: this.router.ns,
      publicOf,
    });
    await this.step('internet gateway', async () => {
      await this.igw.start();
      await this.router.setUplink(this.igw.routerNextHop.link, this.igw.routerNextHop.gateway);
    });
    // IMDS answers for the instance whose ENI owns the packet's source (the router's check ran before).
    this.imdsPortal = await openPortal(this.router.ns, IMDS_ADDRESS, 80, (client) => {
      const owner = this.cloud.ownerOf(client);
      return owner ? this.cloud.endpointOf(owner.node) : undefined;
    });
    await this.step('ipamd ×2', () => Promise.all([...this.nodes.values()].map((n) => n.boot())));
    await this.step('secondary ENIs', () => this.waitForSecondaryEnis());
    await this.step('Pods', () => this.addPods());
    await this.step('services', async () => {
      const ep = this.pod(SERVICE_POD.node, SERVICE_POD.name);
      for (const n of this.nodes.values()) {
        await installKubeProxy(n.ns, { endpoint: { ip: ep.ip, port: ECHO_PORT }, localEndpoint: n.name === ep.node });
      }
      this.servers.push(await echoServer(this.internetNs, 'internet'));
      for (const n of this.nodes.values()) {
        this.servers.push(await echoServer(n.ns, n.name));
        for (const p of n.pods.values()) this.servers.push(await echoServer(p.ns, `${p.node}/${p.name}`));
      }
    });
    await this.router.settled();
  }

  /** ipamd attaches a second ENI at start (MINIMUM_IP_TARGET), and finishes its host side (route table). */
  private async waitForSecondaryEnis(): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (const n of this.nodes.values()) {
      for (;;) {
        const eni = this.cloud.enis().find((e) => e.node === n.name && e.deviceIndex > 0);
        if (eni && (await n.eniReady(eni.deviceIndex))) break;
        if (Date.now() > deadline) {
          const router = this.router.lastError ?? 'ok';
          throw new Error(`${n.name}: no configured secondary ENI after 30 s (router: ${router})\n${n.logTail()}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Adds Pods until each wanted one sits on the wanted kind of ENI; the others stay as fillers. */
  private async addPods(): Promise<void> {
    for (const [node, wanted] of Object.entries(WANTED)) {
      const n = this.node(node);
      const need = Object.entries(wanted);
      const have = new Map<string, Pod>();
      for (let i = 0; have.size < need.length; i++) {
        if (i >= 20) throw new Error(`${node}: 20 Pods and still not ${need.map(([k, v]) => `${k}:${v}`).join(', ')}`);
        const pod = await n.addPod(`tmp${i}`);
        const kind = pod.eni.deviceIndex === 0 ? 'primary' : 'secondary';
        const slot = need.find(([name, k]) => k === kind && !have.has(name));
        n.pods.delete(pod.name);
        if (slot) {
          pod.name = slot[0];
          have.set(slot[0], pod);
        } else {
          pod.name = `fill${i}`;
        }
        n.pods.set(pod.name, pod);
      }
    }
  }

  /** Everything goes, whatever state it is in; returns what could not be removed. */
  async stop(): Promise<string[]> {
    const problems: string[] = [];
    await this.router?.stop();
    for (const n of this.nodes.values()) await n.close().catch((e: Error) => problems.push(e.message));
    await this.imdsPortal?.close();
    for (const s of this.servers) s.close();
    await this.cloud?.close();
    // Deleting a namespace deletes its links, routes, rules and netfilter state.
    for (const name of netnsNames().filter((x) => x.startsWith(this.prefix))) {
      const r = await runRaw(['ip', 'netns', 'del', name]);
      if (r.code !== 0) problems.push(`ip netns del ${name}: ${r.stderr.trim()}`);
    }
    if (process.env.VPC_IPAM_KEEP_TEST_TMP !== '1') fs.rmSync(this.dir, { recursive: true, force: true });
    return problems;
  }
}
