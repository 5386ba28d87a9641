/**
 * @module node subnets
 * The Kubernetes integration's {@link PodSubnetSource}: this node's
 * PodSubnetConfig. The Node and the config are read at each interface
 * allocation, not cached: relabelling a node (or editing its config) applies
 * to the next interface without a restart. Interfaces that already exist keep
 * their subnet, as with the AWS VPC CNI's ENIConfig (aws-vpc-cni.md §9.6).
 *
 * Only a source: what the subnet choice does with the config (custom
 * networking, zones, order) is providers/pod-subnets.ts, composed once for
 * every provider by ipamd/setup/pod-subnets.ts. An explicitly named config
 * that is missing or invalid throws a PodSubnetConfigError, which the agent
 * reports as a PodSubnetConfigInvalid Event.
 */
import type { PodSubnetConfig, PodSubnetSource } from '../../providers/pod-subnets.js';
import { describeError, isNotFound, type K8sApis } from './client.js';
import { CRD_GROUP, CRD_VERSION, PSC_PLURAL, PSC_SELECT_KEY, ZONE_LABEL } from './names.js';
import {
  chooseConfig,
  parsePodSubnetConfig,
  PodSubnetConfigError,
  type ConfigChoice,
  type PodSubnetConfigSpec,
} from './pod-subnet-config.js';

export interface NodeSubnetsOptions {
  apis: K8sApis;
  nodeName: string;
  /** Label/annotation key naming the config (default vpc-ipam.io/pod-subnet-config). */
  selectKey?: string;
}

/** The config a node names, as read now. */
export interface ResolvedConfig {
  name: string;
  source: ConfigChoice['source'];
  spec: PodSubnetConfigSpec;
}

export class NodeSubnets implements PodSubnetSource {
  readonly selectKey: string;
  readonly remedy: string;

  constructor(private readonly o: NodeSubnetsOptions) {
    this.selectKey = o.selectKey ?? PSC_SELECT_KEY;
    this.remedy =
      `set label or annotation ${this.selectKey}=<name> on node ${o.nodeName}, ` +
      `or create a PodSubnetConfig named after its ${ZONE_LABEL}`;
  }

  /** The node's PodSubnetConfig now, as a subnet config; undefined when the node has none. */
  async read(): Promise<PodSubnetConfig | undefined> {
    const resolved = await this.resolve();
    if (!resolved) return undefined;
    const { name, spec } = resolved;
    const groups = spec.securityGroups ? { securityGroups: [...spec.securityGroups] } : {};
    return { subnetIds: [...spec.subnetIds], ...groups, origin: `PodSubnetConfig/${name}` };
  }

  /** Reads the Node and its PodSubnetConfig now. Undefined: the node has none. */
  async resolve(): Promise<ResolvedConfig | undefined> {
    const { apis, nodeName } = this.o;
    const node = await apis.call('read node', () => apis.core.readNode({ name: nodeName }));
    const meta = { labels: node.metadata?.labels, annotations: node.metadata?.annotations };
    const choice = chooseConfig(meta, this.selectKey);
    if (!choice) return undefined;
    let obj: unknown;
    try {
      obj = await apis.call('read PodSubnetConfig', () =>
        apis.custom.getClusterCustomObject({ group: CRD_GROUP, version: CRD_VERSION, plural: PSC_PLURAL, name: choice.name }),
      );
    } catch (err) {
      if (isNotFound(err)) {
        if (!choice.required) return undefined;
        const why = `not found, but node ${nodeName} names it in its ${choice.source} ${this.selectKey}`;
        throw new PodSubnetConfigError(choice.name, 'metadata.name', why);
      }
      throw new Error(`cannot read PodSubnetConfig ${choice.name}: ${describeError(err)}`, { cause: err });
    }
    const { spec } = parsePodSubnetConfig(obj);
    return { name: choice.name, source: choice.source, spec };
  }
}
