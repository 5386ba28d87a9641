/**
 * @module the fabric's EC2 account
 * One emulated account and VPC for every node: a SimCloud with one instance per node, and one AwsEmulator per
 * instance (EC2 is account-wide, but IMDS answers for the instance that asks, so each node gets its own
 * endpoint over the same cloud). The emulators are the unmodified ones ipamd is tested against elsewhere; the
 * fabric only reads the cloud (which ENI is attached where, which addresses each ENI owns) to wire the router,
 * the gateway and the metadata endpoint, and hears about changes through the emulator's `onMutate` hook.
 */
import { AwsEmulator } from '../../providers/aws/emulator/server.js';
import { EMULATE_REALISM, scaleRealism } from '../../providers/aws/emulator/realism.js';
import { SimCloud } from '../../providers/sim/cloud.js';

export const VPC_CIDR = '10.0.0.0/16';
/** Node subnet (every primary ENI) and the subnet tagged `kubernetes.io/role/cni` (secondary ENIs). */
export const NODE_SUBNET = '10.0.0.0/24';
export const POD_SUBNET = '10.0.1.0/24';
export const INSTANCE_TYPE = 'm5.large';

/** What EC2 knows about one attached ENI: all the router needs for its delivery and source checks. */
export interface EniView {
  id: string;
  node: string;
  instanceId: string;
  deviceIndex: number;
  mac: string;
  subnetCidr: string;
  primaryIp: string;
  /** Primary first, then secondary addresses. */
  addresses: string[];
  /** Delegated /28 prefixes (prefix delegation). */
  prefixes: string[];
  /** Wall-clock ms of the AttachNetworkInterface (the cloud runs on Date.now). */
  attachedAt: number;
}

export class FabricCloud {
  readonly cloud: SimCloud;
  private readonly emulators = new Map<string, AwsEmulator>();
  private readonly instances = new Map<string, string>();
  private readonly listeners = new Set<() => void>();

  private constructor(seed: number) {
    this.cloud = new SimCloud({ seed, clock: { now: Date.now }, provider: 'aws' });
  }

  /** Launches one instance per node name into one VPC and starts an emulator for each, on this loopback. */
  static async start(nodes: readonly string[], seed = 7): Promise<FabricCloud> {
    const f = new FabricCloud(seed);
    for (const node of nodes) {
      const id = f.cloud.seedNode({
        instanceType: INSTANCE_TYPE,
        subnetCidr: NODE_SUBNET,
        podSubnetCidr: POD_SUBNET,
        vpcCidr: VPC_CIDR,
        tags: { Name: node },
      });
      f.instances.set(node, id);
      // EC2 as strict as `vpc-ipamctl emulate` (async attach/detach, eventual consistency, IMDS lag, buckets),
      // at a quarter of its timings: the traffic matrix then sees what a real VPC's timing does to the wiring.
      const realism = scaleRealism(EMULATE_REALISM, 0.25);
      const emu = await AwsEmulator.start({ cloud: f.cloud, instanceId: id, onMutate: () => f.changed(), realism });
      f.emulators.set(node, emu);
    }
    return f;
  }

  /** `127.0.0.1:PORT` of the node's emulator (EC2 Query API and its IMDS), in this worker's namespace. */
  endpointOf(node: string): { host: string; port: number } {
    const u = new URL(this.emulators.get(node)!.endpoint);
    return { host: u.hostname, port: Number(u.port) };
  }

  instanceOf(node: string): string {
    return this.instances.get(node)!;
  }

  get nodes(): string[] {
    return [...this.instances.keys()];
  }

  get revision(): number {
    return this.cloud.revision;
  }

  /** Called after every successful EC2 mutation, synchronously; listeners schedule their own work. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(): void {
    for (const fn of this.listeners) fn();
  }

  /** Every ENI attached to a fabric instance, by node, in device order. */
  enis(): EniView[] {
    const out: EniView[] = [];
    for (const [node, instanceId] of this.instances) {
      const inst = this.cloud.getInstance(instanceId);
      for (const n of inst.interfaces) {
        out.push({
          id: n.id,
          node,
          instanceId,
          deviceIndex: n.attachment!.deviceIndex,
          mac: n.mac,
          subnetCidr: this.cloud.getSubnet(n.subnetId).cidr,
          primaryIp: n.primaryIp,
          addresses: [n.primaryIp, ...n.privateIps],
          prefixes: [...n.prefixes],
          attachedAt: n.attachment!.attachedAt,
        });
      }
    }
    return out.sort((a, b) => a.node.localeCompare(b.node) || a.deviceIndex - b.deviceIndex);
  }

  /** The node's primary private address (primary ENI, primary IP): the one an IGW maps to a public address. */
  primaryIpOf(node: string): string {
    const inst = this.cloud.getInstance(this.instanceOf(node));
    return inst.interfaces.find((n) => n.attachment!.deviceIndex === 0)!.primaryIp;
  }

  /** The ENI that owns `ip` (as a /32 or inside one of its prefixes), if any. */
  ownerOf(ip: string): EniView | undefined {
    return this.enis().find((e) => e.addresses.includes(ip) || e.prefixes.some((p) => inCidr(ip, p)));
  }

  async close(): Promise<void> {
    for (const e of this.emulators.values()) await e.close();
    this.emulators.clear();
    this.listeners.clear();
  }
}

const toInt = (ip: string): number => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);

export function inCidr(ip: string, cidr: string): boolean {
  const [base, len] = cidr.split('/') as [string, string];
  const bits = Number(len);
  const size = 2 ** (32 - bits);
  return Math.floor(toInt(ip) / size) === Math.floor(toInt(base) / size);
}

/** The subnet's first usable address: EC2's VPC router for that subnet. */
export function gatewayOf(cidr: string): string {
  const n = toInt(cidr.split('/')[0]!) + 1;
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

export const prefixLen = (cidr: string): number => Number(cidr.split('/')[1]);
