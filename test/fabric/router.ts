/**
 * @module the VPC router
 * A namespace standing for the VPC's implicit router and the hypervisor's source/destination check. Each ENI
 * attached to a fabric instance is a veth: the node end is in the node's namespace, carries the ENI's MAC and
 * is otherwise unconfigured (what an EC2 instance sees after AttachNetworkInterface); the router end is
 * `<node>-eth<device>` here. Links come and go as the emulator attaches and detaches ENIs, and every route and
 * rule is regenerated from the emulator's state, never from what the nodes do:
 *
 * - Delivery: a /32 route (a /28 for a delegated prefix) per address the ENI owns, to the ENI's MAC (one
 *   permanent neighbour per link, reached as an on-link next hop). An address nobody owns has no route here.
 * - Source/destination check (EC2 default for every ENI): a packet entering from an ENI whose source is not
 *   one of that ENI's addresses is dropped and counted per ENI; one for a VPC address no ENI owns is dropped
 *   and counted; a forwarded packet leaving to an ENI that does not own its destination is dropped and counted.
 * - ARP: nodes resolve the subnet gateway (`.1`, held here) and, for on-link destinations, any address; proxy
 *   ARP (with `proxy_arp_pvlan`, so even back out the same ENI) answers for every address with a route, as the
 *   VPC answers ARP for the whole subnet. rp_filter is off: the router checks sources itself, by ENI.
 * - TTL: an ICMP time-exceeded the router sends (a routing loop through it) is counted.
 * - Hot-plug latency: a secondary ENI's link appears `hotplugDelayMs` after the attach (EC2 takes seconds);
 *   until then its addresses are EC2's but undeliverable, and packets to them are counted as such.
 */
import { VPC_CIDR, gatewayOf, type EniView, type FabricCloud } from './cloud.js';
import { ipBatch, ipIn, nft, run, sysctl, tryRun } from './exec.js';

/** The on-link next hop every delivery route uses; its neighbour entry on each link is that ENI's MAC. */
const ENI_HOP = '169.254.0.1';
const MTU = 9001;

/** The link name of an ENI on the router side: `n1-eth1` (15 characters at most). */
export const routerLink = (e: Pick<EniView, 'node' | 'deviceIndex'>): string => `${e.node}-eth${e.deviceIndex}`;

export interface RouterOptions {
  ns: string;
  cloud: FabricCloud;
  /** Node name → its namespace, where the node end of each ENI goes. */
  nodeNs: Record<string, string>;
  /** The router's own addresses (besides the subnet gateways), e.g. 169.254.169.254. */
  localAddresses: string[];
  /** How long after AttachNetworkInterface a secondary ENI's link shows up in the node (default 1000 ms). */
  hotplugDelayMs?: number;
}

export class VpcRouter {
  /** ENI id → the link made for it. */
  private readonly links = new Map<string, { link: string; node: string; deviceIndex: number; mac: string }>();
  /** Route destination → link, as installed. */
  private readonly routes = new Map<string, string>();
  private readonly labels = new Map<string, string>();
  private synced = -1;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  /** ENIs attached in EC2 whose link has not appeared yet (hot-plug latency). */
  private readonly pending = new Map<string, NodeJS.Timeout>();
  /** Hot-plug history, for the report: what was attached or detached, and how long after the API call. */
  readonly events: string[] = [];
  lastError: string | undefined;

  constructor(private readonly o: RouterOptions) {}

  get ns(): string {
    return this.o.ns;
  }

  /** Makes the namespace, then follows the emulator: on every EC2 change, and every 200 ms as a fallback. */
  async start(): Promise<void> {
    const ns = this.o.ns;
    await run(['ip', 'netns', 'add', ns]);
    await ipIn(ns, 'link', 'set', 'lo', 'up');
    await sysctl(ns, {
      'net.ipv4.ip_forward': 1,
      'net.ipv4.conf.all.rp_filter': 0,
      'net.ipv4.conf.default.rp_filter': 0,
      'net.ipv4.conf.default.proxy_arp': 1,
      'net.ipv4.conf.default.proxy_arp_pvlan': 1,
      // Redirects would teach nodes a shortcut the VPC does not offer.
      'net.ipv4.conf.all.send_redirects': 0,
      'net.ipv4.conf.default.send_redirects': 0,
    });
    // On lo: ARP for them is answered on every link (arp_ignore 0), as each subnet's .1 is the VPC router.
    await ipBatch(
      ns,
      [...this.gateways(), ...this.o.localAddresses].map((a) => `addr add ${a}/32 dev lo`),
    );
    // No VPC address ever leaves through the default route (to the Internet gateway), owned or not.
    await ipIn(ns, 'route', 'add', 'blackhole', VPC_CIDR);
    await this.sync();
    this.unsubscribe = this.o.cloud.onChange(() => this.kick());
    this.timer = setInterval(() => {
      if (this.o.cloud.revision !== this.synced) this.kick();
    }, 200);
  }

  /** The VPC route table's `0.0.0.0/0 → igw-…`: everything the VPC does not own goes to the Internet gateway. */
  async setUplink(link: string, gateway: string): Promise<void> {
    await ipIn(this.o.ns, 'route', 'replace', 'default', 'via', gateway, 'dev', link);
  }

  private gateways(): string[] {
    return [...new Set(this.o.cloud.cloud.describeSubnets().map((s) => gatewayOf(s.cidr)))];
  }

  /** Resolves once the router reflects the emulator's current state, pending hot-plugs included (10 s at most). */
  async settled(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (this.running || this.pending.size > 0 || this.synced !== this.o.cloud.revision) {
      if (Date.now() > deadline) throw new Error(`router did not settle in 10 s: ${this.lastError ?? 'still busy'}`);
      // Through kick(), never sync() directly: two passes at once would add the same link twice.
      if (!this.running && this.synced !== this.o.cloud.revision) this.kick();
      if (this.running) await this.running;
      else await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Label of a counter (`src_<eni>` → which ENI, on which node). */
  labelOf(eniId: string): string {
    return this.labels.get(eniId) ?? eniId;
  }

  private kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => (this.running = undefined));
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.sync();
        this.lastError = undefined;
      } catch (err) {
        // Kept for the report; the next change or tick tries again.
        this.lastError = (err as Error).message;
      }
    } while (this.again);
  }

  private async sync(): Promise<void> {
    const rev = this.o.cloud.revision;
    const enis = this.o.cloud.enis();
    await this.plug(enis);
    await this.route(enis);
    await nft(this.o.ns, this.ruleset(enis));
    this.synced = rev;
  }

  /** Hot-plug: a veth per attached ENI, gone when the ENI is detached (or moved to another slot). */
  private async plug(enis: EniView[]): Promise<void> {
    const ns = this.o.ns;
    const want = new Map(enis.map((e) => [e.id, e]));
    for (const [id, l] of this.links) {
      const e = want.get(id);
      if (e && e.node === l.node && e.deviceIndex === l.deviceIndex) continue;
      await tryRun(['ip', '-n', ns, 'link', 'del', l.link]);
      this.links.delete(id);
      for (const [dst, link] of this.routes) if (link === l.link) this.routes.delete(dst);
      this.events.push(`${new Date().toISOString()} detached ${id} from ${l.node} eth${l.deviceIndex}`);
    }
    for (const e of enis) {
      if (this.links.has(e.id)) continue;
      const wait = e.deviceIndex === 0 ? 0 : e.attachedAt + (this.o.hotplugDelayMs ?? 1000) - Date.now();
      if (wait > 0) {
        if (!this.pending.has(e.id)) {
          this.pending.set(
            e.id,
            setTimeout(() => {
              this.pending.delete(e.id);
              this.kick();
            }, wait),
          );
        }
        continue;
      }
      const link = routerLink(e);
      const nodeNs = this.o.nodeNs[e.node];
      if (!nodeNs) continue;
      // The node end is born in the node's namespace, down and unconfigured, with the ENI's MAC.
      await run([
        'ip',
        '-n',
        ns,
        'link',
        'add',
        link,
        'mtu',
        String(MTU),
        'type',
        'veth',
        'peer',
        'name',
        `eth${e.deviceIndex}`,
        'address',
        e.mac,
        'netns',
        nodeNs,
      ]);
      await ipBatch(ns, [`link set ${link} up`, `neigh replace ${ENI_HOP} lladdr ${e.mac} dev ${link} nud permanent`]);
      // Linux delays a proxy ARP reply by up to 0.8 s (per link; a namespace has no neigh/default). The VPC
      // answers at once, and a probe waits 1 s.
      await sysctl(ns, { [`net.ipv4.neigh.${link}.proxy_delay`]: 0 });
      this.links.set(e.id, { link, node: e.node, deviceIndex: e.deviceIndex, mac: e.mac });
      this.labels.set(e.id, `${e.id} (${e.node} eth${e.deviceIndex})`);
      const lag = e.deviceIndex === 0 ? 'at boot' : `${Date.now() - e.attachedAt} ms after AttachNetworkInterface`;
      this.events.push(`${new Date().toISOString()} ${e.id}: link eth${e.deviceIndex} appeared in ${e.node}, ${lag}`);
    }
  }

  /** Delivery routes: every owned address (or prefix) to its ENI; nothing else of the VPC is routable. */
  private async route(enis: EniView[]): Promise<void> {
    const want = new Map<string, string>();
    for (const e of enis) {
      const link = this.links.get(e.id)?.link;
      if (!link) continue;
      for (const a of e.addresses) want.set(`${a}/32`, link);
      for (const p of e.prefixes) want.set(p, link);
    }
    const lines: string[] = [];
    for (const [dst, link] of this.routes) {
      if (want.get(dst) !== link) lines.push(`route del ${dst} dev ${link}`);
    }
    for (const [dst, link] of want) {
      if (this.routes.get(dst) !== link) lines.push(`route replace ${dst} via ${ENI_HOP} dev ${link} onlink`);
    }
    // Deletes one at a time (a route whose link went away is gone already, which must not stop the rest),
    // then the additions in one batch.
    for (const l of lines.filter((x) => x.startsWith('route del'))) {
      await tryRun(['ip', '-n', this.o.ns, ...l.split(' ')]);
    }
    await ipBatch(
      this.o.ns,
      lines.filter((x) => !x.startsWith('route del')),
    );
    this.routes.clear();
    for (const [dst, link] of want) this.routes.set(dst, link);
  }

  /**
   * The check rules, rebuilt in one transaction (`flush chain` + rules). Counters are named objects, created
   * once (`add` keeps an existing one), so a regeneration never resets what a failed flow counted.
   */
  private ruleset(enis: EniView[]): string {
    const t = 'ip vpc';
    const lines = [
      `add table ${t}`,
      `add counter ${t} dst_unowned`,
      `add counter ${t} ttl_exceeded`,
      `add counter ${t} dst_pending`,
      // Priority raw (-300): before conntrack, so a dropped packet leaves no connection state behind.
      `add chain ${t} pre { type filter hook prerouting priority -300; policy accept; }`,
      `add chain ${t} deliver { type filter hook forward priority 0; policy accept; }`,
      `add chain ${t} local_out { type filter hook output priority 0; policy accept; }`,
      `flush chain ${t} pre`,
      `flush chain ${t} deliver`,
      `flush chain ${t} local_out`,
    ];
    const owned: string[] = [];
    const pending: string[] = [];
    for (const e of enis) {
      const link = this.links.get(e.id)?.link;
      if (!link) {
        pending.push(...e.addresses, ...e.prefixes);
        continue;
      }
      const mine = [...e.addresses, ...e.prefixes];
      owned.push(...mine);
      lines.push(`add counter ${t} src_${e.id}`, `add counter ${t} dst_${e.id}`);
      const set = `{ ${mine.join(', ')} }`;
      lines.push(`add rule ${t} pre iifname "${link}" ip saddr != ${set} counter name "src_${e.id}" drop`);
      lines.push(`add rule ${t} deliver oifname "${link}" ip daddr != ${set} counter name "dst_${e.id}" drop`);
    }
    if (pending.length) {
      lines.push(`add rule ${t} pre ip daddr { ${pending.join(', ')} } counter name "dst_pending" drop`);
    }
    const known = [...new Set([...owned, ...this.gateways()])];
    const vpc = `ip daddr ${VPC_CIDR} ip daddr != { ${known.join(', ')} }`;
    lines.push(`add rule ${t} pre ${vpc} counter name "dst_unowned" drop`);
    lines.push(`add rule ${t} local_out icmp type time-exceeded counter name "ttl_exceeded"`);
    return `${lines.join('\n')}\n`;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
    this.unsubscribe?.();
    await this.running?.catch(() => undefined);
  }
}
