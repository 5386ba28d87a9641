/**
 * @module node subnets
 * The Kubernetes integration's {@link PodSubnetSource}: this node's
 * PodSubnetConfig. The Node and the config are read at each interface
 * allocation: relabelling a node (or editing its config) applies to the next
 * interface without a restart. Interfaces that already exist keep their
 * subnet, as with the AWS VPC CNI's ENIConfig (aws-vpc-cni.md §9.6).
 *
 * Pool growth must not need the API server, so the last good Node and
 * config are kept (in memory and in the state dir, node-cache.ts) and used
 * whenever a read fails in a way that says nothing about them: 5xx, 429,
 * timeouts, refused or reset connections. Only a definite answer changes the
 * choice: a 404 of the Node ({@link NodeNotFoundError}), a 404 of a named
 * config, an invalid config.
 *
 * Only a source: what the subnet choice does with the config (custom
 * networking, zones, order) is providers/pod-subnets.ts, composed once for
 * every provider by ipamd/setup/pod-subnets.ts. An explicitly named config
 * that is missing or invalid throws a PodSubnetConfigError, which the agent
 * reports as a PodSubnetConfigInvalid Event.
 *
 * The CRD not installed is told apart from a missing config by the API
 * server's answer (a plain 404 for the path, not a NotFound Status naming
 * the object: client.ts `isPathNotFound`): ipamd then says
 * "CRD podsubnetconfigs.vpc-ipam.io is not installed", in its log (once, until
 * a config is read again) and, when the node names a config, in the
 * PodSubnetConfigInvalid Event (PodSubnetCrdMissingError). The zone default
 * is optional, so a missing CRD there means "no config"; the remedy that
 * custom networking reports then starts with installing the CRD.
 */
import type { PodSubnetConfig, PodSubnetSource } from '../../providers/pod-subnets.js';
import { describeError, isNotFound, isPathNotFound, type K8sApis } from './client.js';
import { CRD_GROUP, CRD_VERSION, PSC_PLURAL, PSC_SELECT_KEY, ZONE_LABEL } from './names.js';
import { nodeFacts, type NodeCache, type NodeFacts, type ResolvedConfig } from './node-cache.js';
import {
  chooseConfig,
  CRD_NOT_INSTALLED,
  parsePodSubnetConfig,
  PodSubnetConfigError,
  PodSubnetCrdMissingError,
  type ConfigChoice,
} from './pod-subnet-config.js';

export type { ResolvedConfig } from './node-cache.js';

export interface NodeSubnetsOptions {
  apis: K8sApis;
  nodeName: string;
  /** Label/annotation key naming the config (default vpc-ipam.io/pod-subnet-config). */
  selectKey?: string;
  /** Other node labels/annotations kept with the Node (the ENIConfig's keys, node-eni-config.ts). */
  alsoKeys?: readonly string[];
  /** Keeps the last good Node and config across restarts; without it, in memory only. */
  cache?: NodeCache;
  log?: {
    info(o: object, m?: string): void;
    warn(o: object, m?: string): void;
    error?(o: object, m?: string): void;
  };
  now?: () => number;
}

/** The API server answered: there is no Node of that name (deleted, or MY_NODE_NAME is wrong). */
export class NodeNotFoundError extends Error {
  constructor(
    readonly nodeName: string,
    options?: { cause?: unknown },
  ) {
    super(`Node ${nodeName} not found in the API server`, options);
    this.name = 'NodeNotFoundError';
  }
}

/** The Node cannot be read now and no earlier copy is known (first start during an API outage). */
export class NodeUnknownError extends Error {
  constructor(nodeName: string, err: unknown, cacheFile: string | undefined) {
    const where = cacheFile ? ` and ${cacheFile} holds no copy` : '';
    const why = `cannot read Node ${nodeName} (${describeError(err)})${where}: new interfaces wait for the API server`;
    super(why, { cause: err });
    this.name = 'NodeUnknownError';
  }
}

export class NodeSubnets implements PodSubnetSource {
  readonly selectKey: string;
  private readonly configRemedy: string;
  /** The last config read found the CRD not installed (logged once until a read works). */
  crdMissing = false;
  private node: NodeFacts | undefined;
  private config: ResolvedConfig | null | undefined;
  /** When the API server last answered a Node read (epoch ms); undefined: not since start. */
  freshAt: number | undefined;
  /** Reading from the last good copy since this error (logged once per outage). */
  private degraded: string | undefined;
  readonly stats = { reads: 0, fallbacks: 0 };

  constructor(private readonly o: NodeSubnetsOptions) {
    this.selectKey = o.selectKey ?? PSC_SELECT_KEY;
    this.configRemedy =
      `set label or annotation ${this.selectKey}=<name> on node ${o.nodeName}, ` +
      `or create a PodSubnetConfig named after its ${ZONE_LABEL}`;
    const cached = o.cache?.load();
    this.node = cached?.node;
    this.config = cached?.config;
  }

  /** What gives this node a config (named in custom networking's error when it has none). */
  get remedy(): string {
    const install = `${CRD_NOT_INSTALLED}: apply deploy/kustomize/base/crd.yaml, then `;
    return this.crdMissing ? `${install}${this.configRemedy}` : this.configRemedy;
  }

  /** The Node as last known (fresh or cached); undefined before any read worked. */
  get facts(): NodeFacts | undefined {
    return this.node;
  }

  /** The node's PodSubnetConfig now, as a subnet config; undefined when the node has none. */
  async read(): Promise<PodSubnetConfig | undefined> {
    const resolved = await this.resolve();
    if (!resolved) return undefined;
    const { name, spec } = resolved;
    const groups = spec.securityGroups ? { securityGroups: [...spec.securityGroups] } : {};
    return { subnetIds: [...spec.subnetIds], ...groups, origin: `PodSubnetConfig/${name}` };
  }

  /** Reads the Node now; on any failure but a 404, the last good copy (NodeUnknownError when none). */
  async readNode(): Promise<NodeFacts> {
    const { apis, nodeName } = this.o;
    try {
      const n = await apis.call('read node', () => apis.core.readNode({ name: nodeName }));
      this.stats.reads++;
      this.node = nodeFacts(n, this.selectKey, this.o.alsoKeys);
      this.freshAt = this.now();
      if (this.degraded) {
        this.o.log?.info({ node: nodeName }, 'the API server answers again; Node and PodSubnetConfig are read fresh');
      }
      this.degraded = undefined;
      this.save();
      return this.node;
    } catch (err) {
      if (isNotFound(err)) throw new NodeNotFoundError(nodeName, { cause: err });
      if (!this.node) throw new NodeUnknownError(nodeName, err, this.o.cache?.file);
      this.fellBack('Node', err);
      return this.node;
    }
  }

  /** Reads the Node and its PodSubnetConfig now (or their last good copies). Undefined: the node has none. */
  async resolve(): Promise<ResolvedConfig | undefined> {
    return this.resolveFor(await this.readNode());
  }

  /**
   * At start: one read of the Node and, when it answers, of its config, so
   * both are cached before an outage needs them. Never throws; says what it got.
   */
  async prime(): Promise<{ node: 'fresh' | 'cached' | 'unknown' | 'not-found'; err?: unknown }> {
    let node: NodeFacts;
    try {
      node = await this.readNode();
    } catch (err) {
      return { node: err instanceof NodeNotFoundError ? 'not-found' : 'unknown', err };
    }
    if (this.degraded) return { node: 'cached' };
    // A missing or invalid config is the pool's to report (a PodSubnetConfigInvalid Event at its first growth).
    await this.resolveFor(node).catch(() => undefined);
    return { node: 'fresh' };
  }

  private async resolveFor(node: NodeFacts): Promise<ResolvedConfig | undefined> {
    const { apis, nodeName } = this.o;
    const choice = chooseConfig(node, this.selectKey);
    if (!choice) return this.remember(null);
    let obj: unknown;
    try {
      const ref = { group: CRD_GROUP, version: CRD_VERSION, plural: PSC_PLURAL, name: choice.name };
      obj = await apis.call('read PodSubnetConfig', () => apis.custom.getClusterCustomObject(ref));
    } catch (err) {
      if (isPathNotFound(err)) return this.noCrd(choice);
      if (isNotFound(err)) {
        this.crdMissing = false;
        if (!choice.required) return this.remember(null);
        const why = `not found, but node ${nodeName} names it in its ${choice.source} ${this.selectKey}`;
        throw new PodSubnetConfigError(choice.name, 'metadata.name', why);
      }
      const last = this.config;
      if (last && last.name === choice.name) {
        this.fellBack(`PodSubnetConfig/${choice.name}`, err);
        return last;
      }
      throw new Error(`cannot read PodSubnetConfig ${choice.name}: ${describeError(err)}`, { cause: err });
    }
    this.crdMissing = false;
    const { spec } = parsePodSubnetConfig(obj);
    return this.remember({ name: choice.name, source: choice.source, spec });
  }

  /** The config's path is not served: a definite answer (the CRD's objects went with it), said once. */
  private noCrd(choice: ConfigChoice): ResolvedConfig | undefined {
    const { nodeName } = this.o;
    const detail = choice.required
      ? `node ${nodeName} names PodSubnetConfig/${choice.name} in its ${choice.source} ${this.selectKey}`
      : `node ${nodeName} looks for PodSubnetConfig/${choice.name}, named after its ${ZONE_LABEL}`;
    if (!this.crdMissing) {
      const fields = { node: nodeName, config: choice.name, source: choice.source };
      const log = this.o.log?.error?.bind(this.o.log) ?? this.o.log?.warn.bind(this.o.log);
      log?.(fields, `${CRD_NOT_INSTALLED}: ${detail}; apply deploy/kustomize/base/crd.yaml`);
    }
    this.crdMissing = true;
    // As for a named config's 404: refused, not remembered; the zone default is optional: "none".
    if (choice.required) {
      throw new PodSubnetCrdMissingError(choice.name, `${detail}; apply deploy/kustomize/base/crd.yaml`);
    }
    return this.remember(null);
  }

  private remember(c: ResolvedConfig | null): ResolvedConfig | undefined {
    this.config = c;
    this.save();
    return c ?? undefined;
  }

  private save(): void {
    if (!this.node) return;
    this.o.cache?.save({ node: this.node, ...(this.config !== undefined ? { config: this.config } : {}) }, this.now());
  }

  private fellBack(what: string, err: unknown): void {
    this.stats.fallbacks++;
    if (this.degraded) return;
    this.degraded = describeError(err);
    const fields = { node: this.o.nodeName, err: this.degraded };
    this.o.log?.warn(fields, `cannot read ${what}; using the last good copy until the API server answers`);
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }
}
