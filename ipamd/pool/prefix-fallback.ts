/**
 * @module prefix fallback
 * What the reconciler remembers when the cloud has no free prefix block
 * (EC2 InsufficientCidrBlocks, fragmentation; `CLOUD_NO_PREFIX_BLOCK`):
 *
 * 1. the subnet that refused, for `backoffMs`: no more prefix requests on
 *    interfaces in it, and no new interface there for prefixes; the pool
 *    tries the node's other interfaces, then a new interface in a sibling
 *    subnet (the subnet selector's next candidates);
 * 2. once no subnet is left, and only with PREFIX_FALLBACK_TO_IPS=true, an
 *    "IP mode" window of `backoffMs` in which growth uses secondary /32s
 *    instead (the Datastore then counts those `ip` blocks as usable in
 *    prefix mode, see `Datastore.fallbackIps`). When the window ends the
 *    pool tries prefixes again; the first prefix obtained ends the fallback,
 *    and the /32s drain as their Pods leave, like blocks after a mode switch.
 *
 * The VPC CNI has no fallback (aws-vpc-cni.md §9.5); Cilium added one
 * (cilium/cilium#20822). Pure bookkeeping on times passed in.
 */
import type { BlockKind } from '../../providers/types.js';

export class PrefixFallback {
  private readonly noPrefixUntil = new Map<string, number>();
  private ipModeUntil: number | undefined;

  constructor(
    readonly enabled: boolean,
    private readonly backoffMs: number,
  ) {}

  /** The cloud refused a prefix in these subnets at `now`. */
  recordShortage(subnetIds: Iterable<string>, now: number): void {
    for (const id of subnetIds) this.noPrefixUntil.set(id, now + this.backoffMs);
  }

  /** Subnets that recently had no free prefix block. */
  exhaustedSubnets(now: number): Set<string> {
    for (const [id, until] of this.noPrefixUntil) if (until <= now) this.noPrefixUntil.delete(id);
    return new Set(this.noPrefixUntil.keys());
  }

  /** Starts an IP-mode window; false (nothing changes) when the fallback is disabled. */
  enterIpMode(now: number): boolean {
    if (!this.enabled) return false;
    this.ipModeUntil = now + this.backoffMs;
    return true;
  }

  /** Whether growth should use secondary IPs right now. */
  ipMode(now: number): boolean {
    return this.ipModeUntil !== undefined && this.ipModeUntil > now;
  }

  get ipModeEndsAt(): number | undefined {
    return this.ipModeUntil;
  }

  /** A prefix was obtained: prefixes work again, so IP mode ends. */
  prefixGrew(): void {
    this.ipModeUntil = undefined;
  }

  /** Block kind to grow with in prefix mode: `ip` inside an IP-mode window, else undefined (the mode's). */
  growKind(now: number): BlockKind | undefined {
    return this.ipMode(now) ? 'ip' : undefined;
  }
}
