/**
 * @module cloud node cache
 * The node as the cloud last described it (its interfaces, its instance type's limits), kept beside the
 * checkpoint so a restart can serve before any cloud call completes: a DEL needs the route table of the
 * Pod's interface, a repeated ADD must answer the subnet and VPC CIDRs the first one did.
 *
 * A hint, never the truth: ipamd hands out no address it read here (daemon.ts keeps hand-out closed until the
 * cloud's view is applied), and a file that is missing, torn or of another version is ignored (the start then
 * reads the cloud first, as before). Written only when what it holds changed, so a resync costs no write.
 */
import { readFileSync, rmSync } from 'node:fs';
import { writeFileAtomicSync } from '../cni/contract/atomic-file.js';
import type { InstanceLimits, NodeInventory } from '../providers/types.js';

export const NODE_CACHE_VERSION = 'vpc-ipam-node-cache/1';

export interface CachedNode {
  node: NodeInventory;
  limits: InstanceLimits;
}

export interface NodeCacheStore {
  /** Undefined when absent or unusable (`why` says which, for the log). */
  load(): { cached?: CachedNode; why?: string };
  save(c: CachedNode): void;
  remove(): void;
  readonly location: string;
}

export class NodeCacheFile implements NodeCacheStore {
  private last: string | undefined;

  constructor(readonly location: string) {}

  load(): { cached?: CachedNode; why?: string } {
    let text: string;
    try {
      text = readFileSync(this.location, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { why: code === 'ENOENT' ? 'no node cache yet' : `cannot read: ${code ?? (err as Error).message}` };
    }
    try {
      const data = JSON.parse(text) as { version?: unknown } & Partial<CachedNode>;
      if (data.version !== NODE_CACHE_VERSION) return { why: `version ${String(data.version)}` };
      if (!isNode(data.node) || !isLimits(data.limits)) return { why: 'malformed' };
      this.last = text;
      return { cached: { node: data.node, limits: data.limits } };
    } catch (err) {
      return { why: `not JSON (${(err as Error).message})` };
    }
  }

  save(c: CachedNode): void {
    const text = JSON.stringify({ version: NODE_CACHE_VERSION, node: c.node, limits: c.limits });
    if (text === this.last) return;
    writeFileAtomicSync(this.location, text);
    this.last = text;
  }

  remove(): void {
    rmSync(this.location, { force: true });
    this.last = undefined;
  }
}

function isNode(n: unknown): n is NodeInventory {
  const x = n as NodeInventory | undefined;
  return (
    typeof x?.instanceId === 'string' &&
    typeof x.instanceType === 'string' &&
    Array.isArray(x.vpcCidrs) &&
    Array.isArray(x.interfaces) &&
    x.interfaces.every((i) => typeof i?.id === 'string' && typeof i.deviceIndex === 'number' && Array.isArray(i.blocks))
  );
}

function isLimits(l: unknown): l is InstanceLimits {
  const x = l as InstanceLimits | undefined;
  return typeof x?.instanceType === 'string' && typeof x.maxInterfaces === 'number';
}
