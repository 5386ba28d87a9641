/**
 * @module node subnets
 * The daemon's `selectSubnets` and `isUsable` hooks, backed by the node's
 * PodSubnetConfig. The Node and the config are read at each interface
 * allocation, not cached: relabelling a node (or editing its config) applies
 * to the next interface without a restart. Interfaces that already exist keep
 * their subnet, as with the AWS VPC CNI's ENIConfig (aws-vpc-cni.md §9.6).
 *
 * Custom networking (`VPC_IPAM_CUSTOM_NETWORKING=true`, or the AWS variable
 * `AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG`): Pods never use the primary interface
 * and a config is mandatory. Without it, a config is used when the node has
 * one, and otherwise the provider's own choice (its subnet discovery, or the
 * primary's subnet) applies.
 */
import type { NetworkInterface, NodeInventory } from '../../providers/types.js';
import { ConfigError } from '../../providers/errors.js';
import type { SubnetSelector } from '../pool/reconciler.js';
import type { Clock } from '../util/clock.js';
import { describeError, isNotFound, type K8sApis } from './client.js';
import { CRD_GROUP, CRD_VERSION, PSC_PLURAL, PSC_SELECT_KEY, ZONE_LABEL } from './names.js';
import { chooseConfig, parsePodSubnetConfig, PodSubnetConfigError, type ConfigChoice, type PodSubnetConfigSpec } from './pod-subnet-config.js';

export interface NodeSubnetsOptions {
  apis: K8sApis;
  nodeName: string;
  customNetworking: boolean;
  /** Label/annotation key naming the config (default vpc-ipam.io/pod-subnet-config). */
  selectKey?: string;
  /** The provider's own selector, used when the node has no config. */
  fallback?: SubnetSelector;
  clock: Clock;
  log: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
}

/** What the last allocation used, for /v1 introspection and the pool-usage annotation. */
export interface SubnetChoice {
  config?: { name: string; source: ConfigChoice['source'] } & PodSubnetConfigSpec;
  subnetIds: string[];
  at: number;
}

export class NodeSubnets {
  private last: SubnetChoice | undefined;
  readonly selectKey: string;

  constructor(private readonly o: NodeSubnetsOptions) {
    this.selectKey = o.selectKey ?? PSC_SELECT_KEY;
  }

  get lastChoice(): SubnetChoice | undefined {
    return this.last;
  }

  /** Under custom networking the primary interface (device 0) carries no Pod addresses. */
  readonly isUsable = (nic: NodeInventory['interfaces'][number]): boolean => !(this.o.customNetworking && nic.deviceIndex === 0);

  readonly selectSubnets: SubnetSelector = async (primary: NetworkInterface | undefined) => {
    const resolved = await this.resolve();
    if (resolved) {
      const { name, source, spec } = resolved;
      this.last = { config: { name, source, ...spec }, subnetIds: spec.subnetIds, at: this.o.clock.now() };
      return spec.subnetIds.map((subnetId) => ({ subnetId, ...(spec.securityGroups ? { securityGroups: spec.securityGroups } : {}) }));
    }
    if (this.o.customNetworking) {
      throw new ConfigError(
        'VPC_IPAM_CUSTOM_NETWORKING',
        `node ${this.o.nodeName} has no PodSubnetConfig: set label or annotation ${this.selectKey}=<name>, or create a PodSubnetConfig named after its ${ZONE_LABEL}`,
      );
    }
    const out = this.o.fallback ? await this.o.fallback(primary) : primary ? [{ subnetId: primary.subnetId }] : [];
    this.last = { subnetIds: out.map((c) => c.subnetId), at: this.o.clock.now() };
    return out;
  };

  /** Reads the Node and its PodSubnetConfig now. Undefined: the node has none. */
  async resolve(): Promise<{ name: string; source: ConfigChoice['source']; spec: PodSubnetConfigSpec } | undefined> {
    const { apis, nodeName } = this.o;
    const node = await apis.call('read node', () => apis.core.readNode({ name: nodeName }));
    const choice = chooseConfig({ labels: node.metadata?.labels, annotations: node.metadata?.annotations }, this.selectKey);
    if (!choice) return undefined;
    let obj: unknown;
    try {
      obj = await apis.call('read PodSubnetConfig', () =>
        apis.custom.getClusterCustomObject({ group: CRD_GROUP, version: CRD_VERSION, plural: PSC_PLURAL, name: choice.name }),
      );
    } catch (err) {
      if (isNotFound(err)) {
        if (!choice.required) return undefined;
        throw new PodSubnetConfigError(choice.name, 'metadata.name', `not found, but node ${nodeName} names it in its ${choice.source} ${this.selectKey}`);
      }
      throw new Error(`cannot read PodSubnetConfig ${choice.name}: ${describeError(err)}`, { cause: err });
    }
    const { spec } = parsePodSubnetConfig(obj);
    return { name: choice.name, source: choice.source, spec };
  }
}
