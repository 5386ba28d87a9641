/**
 * @module aws subnet choice
 * Where a new ENI goes: the reconciler's {@link SubnetSelector} for AWS.
 *
 * Default: the node's subnet first, then the subnets of the same VPC and
 * zone tagged `kubernetes.io/role/cni` (any value but `0`), most free
 * addresses first (EC2 subnet discovery, aws-vpc-cni.md §2.1). A subnet
 * tagged `kubernetes.io/role/cni=0` is never used, the node's included.
 * The reconciler tries the candidates in order and moves on when one is
 * full or has no free /28.
 *
 * Custom networking (`AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true`): ENIs go
 * only to the subnets of a {@link PodSubnetConfig}, with its security
 * groups, and the primary ENI carries no Pods ({@link usableUnderCustomNetworking}).
 * The config comes from a {@link PodSubnetSource}: the Kubernetes
 * integration supplies one (node label/annotation → PodSubnetConfig CRD),
 * and `POD_SUBNET_IDS` / `POD_SECURITY_GROUPS` give a static one. Without
 * custom networking a static config replaces tag discovery and the node
 * subnet stays first. It is read at every ENI creation, not cached, so a
 * changed config applies to the next ENI (existing ENIs keep their subnet).
 */
import type { SubnetSelector } from '../../ipamd/pool/reconciler.js';
import type { CloudProvider, NetworkInterface, Subnet } from '../types.js';

/** Where a node's Pod ENIs go: `{subnetIds, securityGroups}` (the ENIConfig of the VPC CNI). */
export interface PodSubnetConfig {
  subnetIds: string[];
  /** Default: the primary ENI's groups. */
  securityGroups?: string[];
}

/** Returns the node's current config, or undefined when there is none (yet). */
export type PodSubnetSource = () => PodSubnetConfig | undefined | Promise<PodSubnetConfig | undefined>;

/** The tag that marks Pod subnets, as in EKS subnet discovery. */
export const POD_SUBNET_TAG = 'kubernetes.io/role/cni';

export interface AwsSubnetSelectorOptions {
  provider: Pick<CloudProvider, 'listSubnets'>;
  vpcId: string;
  zone: string;
  /** Fallback when the reconciler knows no primary interface yet. */
  nodeSubnetId: string;
  customNetworking: boolean;
  /** Custom networking config, or the static Pod subnet list. */
  podSubnets?: PodSubnetSource;
  /** Use subnets tagged `kubernetes.io/role/cni` (ENABLE_SUBNET_DISCOVERY, default true). */
  discovery?: boolean;
  log?: { warn(o: object, m?: string): void };
}

/** A static source from POD_SUBNET_IDS / POD_SECURITY_GROUPS; undefined when no subnet is listed. */
export function staticPodSubnets(subnetIds: string[], securityGroups: string[]): PodSubnetSource | undefined {
  if (subnetIds.length === 0) return undefined;
  const cfg: PodSubnetConfig = { subnetIds: [...subnetIds], ...(securityGroups.length ? { securityGroups: [...securityGroups] } : {}) };
  return () => cfg;
}

/** DaemonDeps.isUsable under custom networking: the primary ENI (device 0) hosts no Pods. */
export function usableUnderCustomNetworking(nic: Pick<NetworkInterface, 'deviceIndex'>): boolean {
  return nic.deviceIndex !== 0;
}

const byFreeDesc = (a: Subnet, b: Subnet) => b.availableAddresses - a.availableAddresses || (a.id < b.id ? -1 : 1);

export function createAwsSubnetSelector(o: AwsSubnetSelectorOptions): SubnetSelector {
  const discovery = o.discovery ?? true;
  return async (primary) => {
    const cfg = await o.podSubnets?.();
    const groups = cfg?.securityGroups?.length ? { securityGroups: cfg.securityGroups } : {};
    if (o.customNetworking) {
      if (!cfg || cfg.subnetIds.length === 0) {
        o.log?.warn({}, 'custom networking is on but this node has no Pod subnet config yet: not creating an ENI');
        return [];
      }
      const subnets = await describe(o, cfg.subnetIds);
      if (!subnets) return cfg.subnetIds.map((subnetId) => ({ subnetId, ...groups }));
      const inZone = subnets.filter((s) => s.zone === o.zone);
      if (inZone.length < subnets.length) {
        o.log?.warn({ ignored: subnets.filter((s) => s.zone !== o.zone).map((s) => s.id), zone: o.zone }, 'Pod subnets outside the node zone cannot hold its ENIs; ignoring them');
      }
      return inZone.filter((s) => s.availableAddresses > 0).sort(byFreeDesc).map((s) => ({ subnetId: s.id, ...groups }));
    }
    const nodeSubnetId = primary?.subnetId ?? o.nodeSubnetId;
    let others: Subnet[] | undefined;
    let nodeSubnet: Subnet | undefined;
    if (cfg) {
      others = await describe(o, cfg.subnetIds);
      if (!others) return [{ subnetId: nodeSubnetId }, ...cfg.subnetIds.filter((id) => id !== nodeSubnetId).map((subnetId) => ({ subnetId, ...groups }))];
      nodeSubnet = (await describe(o, [nodeSubnetId]))?.[0];
    } else if (discovery) {
      const all = await describeVpc(o);
      if (!all) return [{ subnetId: nodeSubnetId }];
      nodeSubnet = all.find((s) => s.id === nodeSubnetId);
      others = all.filter((s) => s.id !== nodeSubnetId && Object.hasOwn(s.tags, POD_SUBNET_TAG) && s.tags[POD_SUBNET_TAG] !== '0');
    } else {
      return [{ subnetId: nodeSubnetId }];
    }
    const out: Array<{ subnetId: string; securityGroups?: string[] }> = [];
    const nodeExcluded = nodeSubnet?.tags[POD_SUBNET_TAG] === '0';
    if (!nodeExcluded && (nodeSubnet === undefined || nodeSubnet.availableAddresses > 0)) out.push({ subnetId: nodeSubnetId });
    for (const s of others.filter((x) => x.id !== nodeSubnetId && x.zone === o.zone && x.availableAddresses > 0).sort(byFreeDesc)) {
      out.push({ subnetId: s.id, ...groups });
    }
    return out;
  };
}

/** DescribeSubnets by id; undefined (and a warning) when the call fails, so choice degrades, not stops. */
async function describe(o: AwsSubnetSelectorOptions, ids: string[]): Promise<Subnet[] | undefined> {
  try {
    return await o.provider.listSubnets({ ids });
  } catch (err) {
    o.log?.warn({ err: (err as Error).message, ids }, 'DescribeSubnets failed; using the subnets unsorted');
    return undefined;
  }
}

async function describeVpc(o: AwsSubnetSelectorOptions): Promise<Subnet[] | undefined> {
  try {
    return await o.provider.listSubnets({ vpcId: o.vpcId, zone: o.zone });
  } catch (err) {
    o.log?.warn({ err: (err as Error).message }, 'subnet discovery failed; using the node subnet only');
    return undefined;
  }
}
