/**
 * @module prefix fallback
 * What the reconciler remembers when the cloud has no free prefix block
 * (`CLOUD_NO_PREFIX_BLOCK`: EC2 InsufficientCidrBlocks, a fragmented GCE
 * range, …):
 *
 * 1. the subnet that refused, for `backoffMs`, with the cloud's own code for
 *    the refusal: no more prefix requests on interfaces in it, and no new
 *    interface there for prefixes; the pool tries the node's other
 *    interfaces, then a new interface in a sibling subnet (the subnet
 *    selector's next candidates);
 * 2. once no subnet is left, and only with PREFIX_FALLBACK_TO_IPS=true, an
 *    "IP mode" window of `backoffMs` in which growth uses secondary /32s
 *    instead (the Datastore then counts those `ip` blocks as usable in
 *    prefix mode, see `Datastore.fallbackIps`). When the window ends the
 *    pool tries prefixes again; the first prefix obtained ends the fallback,
 *    and the /32s drain as their Pods leave, like blocks after a mode switch.
 *
 * The VPC CNI has no fallback (aws-vpc-cni.md §9.5); Cilium added one
 * (cilium/cilium#20822). Pure bookkeeping on times passed in: the executor
 * holds it, the planner reads it as a {@link FallbackView}.
 */
import type { BlockKind } from '../../providers/types.js';

/** The fallback as the planner sees it at one instant: plain data. */
export interface FallbackView {
  /** PREFIX_FALLBACK_TO_IPS: "no prefix left" may switch growth to secondary IPs. */
  enabled: boolean;
  /** Inside an IP-mode window: growth uses secondary IPs. */
  ipMode: boolean;
  /** Subnets that recently had no free prefix block, each with the cloud's code for the refusal. */
  exhausted: ReadonlyMap<string, string>;
}

/** The neutral code, for a refusal whose cloud gave no code of its own. */
export const NO_PREFIX_CODE = 'CLOUD_NO_PREFIX_BLOCK';

export class PrefixFallback {
  private readonly noPrefixUntil = new Map<string, { until: number; cloudCode: string }>();
  private ipModeUntil: number | undefined;

  constructor(
    readonly enabled: boolean,
    private readonly backoffMs: number,
  ) {}

  /** The cloud refused a prefix in these subnets at `now`, saying `cloudCode`. */
  recordShortage(subnetIds: Iterable<string>, now: number, cloudCode: string = NO_PREFIX_CODE): void {
    for (const id of subnetIds) this.noPrefixUntil.set(id, { until: now + this.backoffMs, cloudCode });
  }

  /** Subnets that recently had no free prefix block. */
  exhaustedSubnets(now: number): Set<string> {
    return new Set(this.exhausted(now).keys());
  }

  /** What the planner needs at `now`. */
  view(now: number): FallbackView {
    return { enabled: this.enabled, ipMode: this.ipMode(now), exhausted: this.exhausted(now) };
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

  private exhausted(now: number): Map<string, string> {
    for (const [id, r] of this.noPrefixUntil) if (r.until <= now) this.noPrefixUntil.delete(id);
    return new Map([...this.noPrefixUntil].map(([id, r]) => [id, r.cloudCode]));
  }
}
