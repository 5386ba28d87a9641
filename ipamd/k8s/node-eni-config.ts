/**
 * @module node ENIConfig
 * This node's AWS ENIConfig as a {@link PodSubnetSource}, beside its PodSubnetConfig (node-subnets.ts): only
 * under custom networking, as in the AWS VPC CNI, and composed after the PodSubnetConfig by
 * ipamd/setup/pod-subnets.ts (a node that selects a PodSubnetConfig uses it; else its ENIConfig).
 *
 * Read as the AWS CNI reads it (`MyENIConfig` at each ENI allocation): the Node and the ENIConfig are read at
 * each interface creation, so a relabelled node or an edited ENIConfig applies to the next interface; existing
 * interfaces keep theirs. The Node read is NodeSubnets' own (one read, its last good copy on outages). Where the
 * AWS CNI fails the allocation on any read error, a read that says nothing about the object (5xx, timeouts)
 * falls back to the last ENIConfig read, in memory, if the node still names the same one: pool growth must not
 * need the API server. A definite answer does not: the chosen ENIConfig missing or invalid is an
 * {@link EniConfigError}, so that interface is not created and the next tick tries again.
 *
 * The ENIConfig CRD not installed (a cluster that never ran aws-node: its path is a plain 404) means "no
 * ENIConfig", said once in the log, and custom networking needs a PodSubnetConfig as before.
 */
import type { PodSubnetConfig, PodSubnetSource } from '../../providers/pod-subnets.js';
import type { EniConfigKeys } from '../config/kubernetes.js';
import { describeError, isNotFound, isPathNotFound, type K8sApis } from './client.js';
import {
  chooseEniConfig,
  describeChoice,
  EniConfigError,
  parseEniConfig,
  type EniConfigChoice,
  type EniConfigSpec,
} from './eni-config.js';
import {
  ENICONFIG_CRD_NAME,
  ENICONFIG_GROUP,
  ENICONFIG_PLURAL,
  ENICONFIG_VERSION,
  EXTERNAL_ENICONFIG_LABEL,
} from './names.js';
import type { NodeFacts } from './node-cache.js';

/** What /v1/eni-configs serves: the ENIConfig this node names (the AWS CNI's answer is `name` alone) and its spec. */
export interface EniConfigView {
  name: string;
  /** How the node names it: `external-label`, `annotation`, `label` or `default`. */
  source: EniConfigChoice['source'];
  key?: string;
  /** As last read; undefined when it could not be read (`error` says why). */
  spec?: EniConfigSpec;
  error?: string;
  /** The AWS CNI reads ENIConfigs only with custom networking on; so does ipamd. */
  customNetworking: boolean;
}

export interface NodeEniConfigsOptions {
  apis: K8sApis;
  nodeName: string;
  keys: EniConfigKeys;
  /** Off: read() always answers "none" (the AWS CNI reads no ENIConfig without custom networking). */
  customNetworking: boolean;
  /** This node's Node, fresh or its last good copy (NodeSubnets.readNode). */
  readNode: () => Promise<NodeFacts>;
  log?: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
}

/** The node labels and annotations an ENIConfig choice reads (kept with the cached Node). */
export function eniConfigNodeKeys(keys: EniConfigKeys): string[] {
  return [...new Set([EXTERNAL_ENICONFIG_LABEL, keys.annotation, keys.label])];
}

export class NodeEniConfigs implements PodSubnetSource {
  /** The last ENIConfig read from the API (an outage reuses it while the node names the same one). */
  private last: { name: string; spec: EniConfigSpec } | undefined;
  /** The ENIConfig CRD is not served: logged once until it is. */
  crdMissing = false;
  readonly stats = { reads: 0, fallbacks: 0 };

  constructor(private readonly o: NodeEniConfigsOptions) {}

  get remedy(): string {
    const k = this.o.keys;
    return (
      `install the ENIConfig CRD (${ENICONFIG_CRD_NAME}) and create ENIConfig/default, or name one by node ` +
      `annotation ${k.annotation} or label ${k.label}`
    );
  }

  /** The node's ENIConfig now, as a subnet config; undefined without custom networking or without the CRD. */
  async read(): Promise<PodSubnetConfig | undefined> {
    if (!this.o.customNetworking) return undefined;
    const got = await this.resolve();
    if (!got) return undefined;
    const groups = got.spec.securityGroups ? { securityGroups: [...got.spec.securityGroups] } : {};
    return { subnetIds: [got.spec.subnet], ...groups, origin: `ENIConfig/${got.name}` };
  }

  /** For the introspection path /v1/eni-configs: which ENIConfig this node names, and its spec. Never throws. */
  async view(): Promise<EniConfigView> {
    const customNetworking = this.o.customNetworking;
    let choice: EniConfigChoice;
    try {
      choice = chooseEniConfig(await this.o.readNode(), this.o.keys);
    } catch (err) {
      const unknown = { name: '', source: 'default' as const, customNetworking };
      return { ...unknown, error: `cannot read Node ${this.o.nodeName}: ${describeError(err)}` };
    }
    const base = { name: choice.name, source: choice.source, ...(choice.key ? { key: choice.key } : {}) };
    try {
      const got = await this.fetch(choice);
      if (!got) return { ...base, customNetworking, error: `${ENICONFIG_CRD_NAME} is not installed` };
      return { ...base, customNetworking, spec: got.spec };
    } catch (err) {
      return { ...base, customNetworking, error: (err as Error).message };
    }
  }

  private async resolve(): Promise<{ name: string; spec: EniConfigSpec } | undefined> {
    return this.fetch(chooseEniConfig(await this.o.readNode(), this.o.keys));
  }

  /** One read of the chosen ENIConfig; undefined: the CRD is not served. */
  private async fetch(choice: EniConfigChoice): Promise<{ name: string; spec: EniConfigSpec } | undefined> {
    const { apis, nodeName } = this.o;
    const named = `node ${nodeName} names it by ${describeChoice(choice)}`;
    if (choice.name === '') throw new EniConfigError(choice.name, 'metadata.name', `empty, but ${named}`);
    let obj: unknown;
    try {
      const ref = { group: ENICONFIG_GROUP, version: ENICONFIG_VERSION, plural: ENICONFIG_PLURAL, name: choice.name };
      obj = await apis.call('read ENIConfig', () => apis.custom.getClusterCustomObject(ref));
    } catch (err) {
      if (isPathNotFound(err)) return this.noCrd();
      this.crdMissing = false;
      if (isNotFound(err)) throw new EniConfigError(choice.name, 'metadata.name', `not found, but ${named}`);
      if (this.last?.name === choice.name) {
        this.stats.fallbacks++;
        this.o.log?.warn(
          { node: nodeName, err: describeError(err) },
          `cannot read ENIConfig/${choice.name}; using the last read`,
        );
        return this.last;
      }
      throw new Error(`cannot read ENIConfig ${choice.name}: ${describeError(err)}`, { cause: err });
    }
    this.stats.reads++;
    this.crdMissing = false;
    this.last = { name: choice.name, spec: parseEniConfig(obj, choice.name) };
    return this.last;
  }

  private noCrd(): undefined {
    if (!this.crdMissing) {
      const why = `${ENICONFIG_CRD_NAME} is not installed: custom networking uses PodSubnetConfigs only`;
      this.o.log?.info({ node: this.o.nodeName }, why);
    }
    this.crdMissing = true;
    return undefined;
  }
}
