/**
 * @module pod subnets
 * Where a new interface goes: the reconciler's {@link SubnetSelector}, the
 * one implementation of subnet choice and custom networking for every
 * provider that creates interfaces (the sim and AWS).
 *
 * A node may have a Pod subnet config (`{subnetIds, securityGroups}`, the
 * AWS VPC CNI's ENIConfig generalised) from a {@link PodSubnetSource}: the
 * Kubernetes integration's PodSubnetConfig, or a static list. Which sources
 * exist and in which order is decided once, by the node's composition
 * (ipamd/setup/pod-subnets.ts); this module only applies the rules:
 *
 * - with a config: its subnets, in the config's order (operators rank
 *   them), those outside the node's zone dropped (they cannot hold its
 *   interfaces), those without free addresses tried last (if all are full,
 *   the cloud's "subnet full" is the reason growth pauses), with the
 *   config's security groups;
 * - custom networking without a config: a ConfigError naming the variable
 *   and what gives the node a config (no interface anywhere);
 * - otherwise: the node's subnet first, then, with discovery, the subnets of
 *   the node's VPC and zone tagged `discoveryTag` (any value but `0`), most
 *   free addresses first; a subnet tagged `0` is never used, the node's
 *   included (EKS subnet discovery, aws-vpc-cni.md §2.1).
 *
 * The config is read at every interface creation, not cached, so a changed
 * config applies to the next interface (existing ones keep their subnet).
 * The reconciler tries the candidates in order and moves on when one is full.
 */
import { ConfigError } from './errors.js';
import type { CloudProvider, NetworkInterface, Subnet } from './types.js';

/** Where a node's Pod interfaces go. */
export interface PodSubnetConfig {
  /** Candidate subnets, in order. */
  subnetIds: string[];
  /** Default: the primary interface's groups. */
  securityGroups?: string[];
  /** What the config is, for errors: `POD_SUBNET_IDS`, `PodSubnetConfig/<name>`. */
  origin?: string;
}

/** Where a node's Pod subnet config comes from. */
export interface PodSubnetSource {
  /** The node's config now; undefined when it has none. */
  read(): Promise<PodSubnetConfig | undefined>;
  /** What gives this node a config: the error custom networking raises when there is none says it. */
  readonly remedy: string;
}

export interface SubnetCandidate {
  subnetId: string;
  securityGroups?: string[];
}

/** Ordered subnet candidates for a new interface. */
export type SubnetSelector = (primary: NetworkInterface | undefined) => Promise<SubnetCandidate[]>;

/** A fixed config from settings (e.g. POD_SUBNET_IDS); undefined when no subnet is listed. */
export function staticPodSubnets(
  variable: string,
  subnetIds: string[],
  securityGroups: string[] = [],
): PodSubnetSource | undefined {
  if (subnetIds.length === 0) return undefined;
  const groups = securityGroups.length ? { securityGroups: [...securityGroups] } : {};
  const cfg: PodSubnetConfig = { subnetIds: [...subnetIds], ...groups, origin: variable };
  return { read: async () => cfg, remedy: `set ${variable}` };
}

/** The first source that has a config for the node; undefined when no source is given. */
export function firstPodSubnetSource(...sources: Array<PodSubnetSource | undefined>): PodSubnetSource | undefined {
  const list = sources.filter((s): s is PodSubnetSource => s !== undefined);
  if (list.length <= 1) return list[0];
  return {
    read: async () => {
      for (const s of list) {
        const cfg = await s.read();
        if (cfg && cfg.subnetIds.length > 0) return cfg;
      }
      return undefined;
    },
    remedy: list.map((s) => s.remedy).join(', or '),
  };
}

/** DaemonDeps.isUsable under custom networking: the primary interface (device 0) hosts no Pods. */
export function usableUnderCustomNetworking(nic: Pick<NetworkInterface, 'deviceIndex'>): boolean {
  return nic.deviceIndex !== 0;
}

export interface SubnetSelectorOptions {
  provider: Pick<CloudProvider, 'listSubnets'>;
  vpcId: string;
  zone: string;
  /** When the reconciler knows no primary interface yet. */
  nodeSubnetId: string;
  /** On: Pods only in a config's subnets; `variable` is what turned it on (named in errors). */
  customNetworking?: { variable: string };
  podSubnets?: PodSubnetSource;
  /** Tag that marks discoverable Pod subnets (AWS: `kubernetes.io/role/cni`); undefined: no discovery. */
  discoveryTag?: string;
  log?: { warn(o: object, m?: string): void };
}

const byFreeDesc = (a: Subnet, b: Subnet) => b.availableAddresses - a.availableAddresses || (a.id < b.id ? -1 : 1);

export function createSubnetSelector(o: SubnetSelectorOptions): SubnetSelector {
  return async (primary) => {
    const cfg = await o.podSubnets?.read();
    if (cfg && cfg.subnetIds.length > 0) return fromConfig(o, cfg);
    if (o.customNetworking) {
      const remedy = o.podSubnets?.remedy ?? 'give it Pod subnets';
      const why = `custom networking is on, but this node has no Pod subnet config: ${remedy}`;
      throw new ConfigError(o.customNetworking.variable, why);
    }
    const nodeSubnetId = primary?.subnetId ?? o.nodeSubnetId;
    if (o.discoveryTag === undefined) return [{ subnetId: nodeSubnetId }];
    return discovered(o, o.discoveryTag, nodeSubnetId);
  };
}

async function fromConfig(o: SubnetSelectorOptions, cfg: PodSubnetConfig): Promise<SubnetCandidate[]> {
  const groups = cfg.securityGroups?.length ? { securityGroups: [...cfg.securityGroups] } : {};
  const described = await describe(o, cfg.subnetIds);
  if (!described) return cfg.subnetIds.map((subnetId) => ({ subnetId, ...groups }));
  const byId = new Map(described.map((s) => [s.id, s]));
  const elsewhere = cfg.subnetIds.filter((id) => byId.has(id) && byId.get(id)!.zone !== o.zone);
  const inZone = cfg.subnetIds.filter((id) => !elsewhere.includes(id));
  if (elsewhere.length) {
    const why = 'Pod subnets outside the node zone cannot hold its interfaces; ignoring them';
    o.log?.warn({ ignored: elsewhere, zone: o.zone }, why);
  }
  if (inZone.length === 0) {
    const why = `none of the Pod subnets ${cfg.subnetIds.join(', ')} is in the node's zone ${o.zone}`;
    throw new ConfigError(cfg.origin ?? 'PodSubnetConfig', why);
  }
  const hasRoom = (id: string) => (byId.get(id)?.availableAddresses ?? 1) > 0;
  const ordered = [...inZone.filter(hasRoom), ...inZone.filter((id) => !hasRoom(id))];
  return ordered.map((subnetId) => ({ subnetId, ...groups }));
}

async function discovered(o: SubnetSelectorOptions, tag: string, nodeSubnetId: string): Promise<SubnetCandidate[]> {
  let all: Subnet[];
  try {
    all = await o.provider.listSubnets({ vpcId: o.vpcId, zone: o.zone });
  } catch (err) {
    o.log?.warn({ err: (err as Error).message }, 'subnet discovery failed; using the node subnet only');
    return [{ subnetId: nodeSubnetId }];
  }
  const nodeSubnet = all.find((s) => s.id === nodeSubnetId);
  const tagged = (s: Subnet) => Object.hasOwn(s.tags, tag) && s.tags[tag] !== '0';
  const out: SubnetCandidate[] = [];
  const nodeExcluded = nodeSubnet?.tags[tag] === '0';
  const nodeHasRoom = nodeSubnet === undefined || nodeSubnet.availableAddresses > 0;
  if (!nodeExcluded && nodeHasRoom) out.push({ subnetId: nodeSubnetId });
  const others = all.filter((s) => s.id !== nodeSubnetId && s.zone === o.zone && tagged(s) && s.availableAddresses > 0);
  for (const s of others.sort(byFreeDesc)) out.push({ subnetId: s.id });
  return out;
}

/** DescribeSubnets by id; undefined (and a warning) when the call fails, so choice degrades, not stops. */
async function describe(o: SubnetSelectorOptions, ids: string[]): Promise<Subnet[] | undefined> {
  try {
    return await o.provider.listSubnets({ ids });
  } catch (err) {
    o.log?.warn({ err: (err as Error).message, ids }, 'DescribeSubnets failed; using the subnets as configured');
    return undefined;
  }
}
