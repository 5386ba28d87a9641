/**
 * @module cached Node
 * What ipamd needs from its Node object, kept in the state dir
 * (`k8s-node.json`, beside the checkpoint) so that a daemon restarted during
 * an API server outage still knows the machine it checked the Node against
 * (providerID), its CPUs (max Pods) and, above all, where new Pod interfaces
 * go: the labels and annotation that choose the PodSubnetConfig, and the
 * config last used. Without it, a restart during an outage would create no
 * interface at all, or (worse) one in the wrong subnet, which it keeps.
 *
 * Written atomically (providers/atomic-file.ts) and only when it changed;
 * validated on read: a file that is not exactly what this version writes, or
 * that names another node, is ignored with a warning (the API server is the
 * source of truth; the cache only bridges its absence). Never throws: a
 * state dir that takes no write costs the cache, not the daemon.
 */
import { readFileSync } from 'node:fs';
import type { V1Node } from '@kubernetes/client-node';
import { writeFileAtomicSync } from '../../cni/contract/atomic-file.js';
import { ZONE_LABEL } from './names.js';
import { parsePodSubnetConfig, type ConfigSource, type PodSubnetConfigSpec } from './pod-subnet-config.js';

export const NODE_CACHE_FILE = 'k8s-node.json';
const FORMAT = 1;

/** What ipamd reads from its Node. Labels and annotations: only the keys the config choice reads. */
export interface NodeFacts {
  uid?: string;
  providerId?: string;
  cpus?: number;
  zone?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** The PodSubnetConfig a node names, as last read. */
export interface ResolvedConfig {
  name: string;
  source: ConfigSource;
  spec: PodSubnetConfigSpec;
}

export interface CachedNode {
  node: NodeFacts;
  /** The config last used; null: the node had none; absent: never resolved. */
  config?: ResolvedConfig | null;
}

/**
 * The facts of a Node as the API returned it; `selectKey` is the label/annotation naming its config, `alsoKeys`
 * the other labels/annotations a config choice reads (the ENIConfig's, eni-config.ts).
 */
export function nodeFacts(n: V1Node, selectKey: string, alsoKeys: readonly string[] = []): NodeFacts {
  const cpuRaw = n.status?.capacity?.cpu;
  // Kubernetes quantities: "2" or "2500m".
  const cpus =
    cpuRaw === undefined ? undefined : cpuRaw.endsWith('m') ? Number(cpuRaw.slice(0, -1)) / 1000 : Number(cpuRaw);
  const pick = (m: Record<string, string> | undefined, keys: string[]) =>
    Object.fromEntries(keys.filter((k) => typeof m?.[k] === 'string').map((k) => [k, m![k]!]));
  const facts: NodeFacts = {
    labels: pick(n.metadata?.labels, [selectKey, ZONE_LABEL, ...alsoKeys]),
    annotations: pick(n.metadata?.annotations, [selectKey, ...alsoKeys]),
  };
  if (n.metadata?.uid) facts.uid = n.metadata.uid;
  if (n.spec?.providerID) facts.providerId = n.spec.providerID;
  if (cpus !== undefined && Number.isFinite(cpus)) facts.cpus = cpus;
  const zone = n.metadata?.labels?.[ZONE_LABEL];
  if (zone) facts.zone = zone;
  return facts;
}

/** The cache file is not what this version writes (or names another node). */
export class NodeCacheError extends Error {
  constructor(
    readonly file: string,
    why: string,
  ) {
    super(`${file}: ${why}`);
    this.name = 'NodeCacheError';
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const strMap = (v: unknown) => isObj(v) && Object.values(v).every((x) => typeof x === 'string');
const optStr = (v: unknown) => v === undefined || (typeof v === 'string' && v !== '');

/** Parses and validates the cache file's text; throws a NodeCacheError naming what is wrong. */
export function parseNodeCache(text: string, file: string, nodeName: string): CachedNode {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new NodeCacheError(file, 'not JSON');
  }
  if (!isObj(raw) || raw.format !== FORMAT) throw new NodeCacheError(file, `not format ${FORMAT}`);
  if (raw.nodeName !== nodeName) {
    throw new NodeCacheError(file, `is for node ${JSON.stringify(raw.nodeName)}, not ${nodeName}`);
  }
  const n = raw.node;
  if (!isObj(n) || !strMap(n.labels) || !strMap(n.annotations)) {
    throw new NodeCacheError(file, 'node: labels/annotations missing');
  }
  if (!optStr(n.uid) || !optStr(n.providerId) || !optStr(n.zone)) {
    throw new NodeCacheError(file, 'node: uid/providerId/zone not strings');
  }
  if (n.cpus !== undefined && (typeof n.cpus !== 'number' || !Number.isFinite(n.cpus) || n.cpus < 0)) {
    throw new NodeCacheError(file, 'node.cpus is not a number');
  }
  const out: CachedNode = { node: n as unknown as NodeFacts };
  const c = raw.config;
  if (c === null) out.config = null;
  else if (c !== undefined) {
    if (!isObj(c) || typeof c.name !== 'string' || !['label', 'annotation', 'zone'].includes(c.source as string)) {
      throw new NodeCacheError(file, 'config: name/source invalid');
    }
    // The same rules as a config read from the API: a hand-edited or torn cache must not pick subnets.
    try {
      const { spec } = parsePodSubnetConfig({ metadata: { name: c.name }, spec: c.spec });
      out.config = { name: c.name, source: c.source as ConfigSource, spec };
    } catch (err) {
      throw new NodeCacheError(file, `config: ${(err as Error).message}`);
    }
  }
  return out;
}

export interface NodeCacheLog {
  warn(o: object, m?: string): void;
}

export class NodeCache {
  private last = '';

  constructor(
    readonly file: string,
    private readonly nodeName: string,
    private readonly log: NodeCacheLog,
  ) {}

  /** The cached Node, or undefined (none yet, or not valid: warned). */
  load(): CachedNode | undefined {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.log.warn({ err: (err as Error).message }, 'cannot read the cached Node');
      }
      return undefined;
    }
    try {
      const c = parseNodeCache(text, this.file, this.nodeName);
      this.last = this.render(c);
      return c;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'ignoring the cached Node: not valid');
      return undefined;
    }
  }

  /** Writes `c` when it differs from what the file holds; a failed write is a warning. */
  save(c: CachedNode, now: number): void {
    const text = this.render(c);
    if (text === this.last) return;
    try {
      writeFileAtomicSync(this.file, JSON.stringify({ ...JSON.parse(text), savedAt: new Date(now).toISOString() }));
      this.last = text;
    } catch (err) {
      this.log.warn({ err: (err as Error).message, file: this.file }, 'cannot write the cached Node');
    }
  }

  /** The comparable content (without savedAt, so an unchanged Node is not rewritten). */
  private render(c: CachedNode): string {
    const config = c.config !== undefined ? { config: c.config } : {};
    return JSON.stringify({ format: FORMAT, nodeName: this.nodeName, node: c.node, ...config });
  }
}
