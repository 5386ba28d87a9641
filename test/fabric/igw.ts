/**
 * @module the Internet gateway and the Internet
 * An EC2 Internet gateway does one-to-one NAT between an instance's public IPv4 address and the private
 * address it is associated with, which for an auto-assigned public IP is the primary private address of the
 * primary ENI. Nothing else gets out: a packet whose source is any other private address (a Pod's secondary
 * IP, say) has no public address to be translated to and is dropped. This namespace does exactly that with
 * nftables, counting both kinds of drop, and sits between the VPC router and an "Internet" namespace whose
 * host has two addresses: one ordinary, one that a node excludes from SNAT (AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS).
 *
 * Addresses (all inside the fabric's namespaces): router↔igw 10.255.0.0/30, Internet 203.0.113.0/24
 * (TEST-NET-3), public addresses of the nodes 192.0.2.0/24 (TEST-NET-1).
 */
import { VPC_CIDR } from './cloud.js';
import { ipBatch, ipIn, nft, run, sysctl } from './exec.js';
import { QUIET_SERVER_SYNACK_RETRIES } from './probe.js';

export const ROUTER_UPLINK = { link: 'igw', address: '10.255.0.1' } as const;
const IGW_VPC = { link: 'vpc', address: '10.255.0.2' } as const;
const IGW_INET = { link: 'inet', address: '203.0.113.1' } as const;
/** The Internet host: one address SNAT applies to, one in a node's EXCLUDE_SNAT_CIDRS. */
export const INTERNET_HOST = '203.0.113.10';
export const INTERNET_EXCLUDED_HOST = '203.0.113.130';
export const INTERNET_EXCLUDED_CIDR = '203.0.113.128/25';
const PUBLIC_RANGE = '192.0.2.0/24';

export interface GatewayOptions {
  igwNs: string;
  internetNs: string;
  routerNs: string;
  /** Node primary private address → the public address EC2 associated with it. */
  publicOf: Record<string, string>;
}

export class InternetGateway {
  constructor(private readonly o: GatewayOptions) {}

  get ns(): string {
    return this.o.igwNs;
  }

  async start(): Promise<void> {
    const { igwNs, internetNs, routerNs } = this.o;
    for (const ns of [igwNs, internetNs]) {
      await run(['ip', 'netns', 'add', ns]);
      await ipIn(ns, 'link', 'set', 'lo', 'up');
    }
    await sysctl(igwNs, {
      'net.ipv4.ip_forward': 1,
      'net.ipv4.conf.all.rp_filter': 0,
      'net.ipv4.conf.default.rp_filter': 0,
    });
    await sysctl(internetNs, { 'net.ipv4.tcp_synack_retries': QUIET_SERVER_SYNACK_RETRIES });
    await run([
      'ip',
      '-n',
      routerNs,
      'link',
      'add',
      ROUTER_UPLINK.link,
      'type',
      'veth',
      'peer',
      'name',
      IGW_VPC.link,
      'netns',
      igwNs,
    ]);
    await run([
      'ip',
      '-n',
      igwNs,
      'link',
      'add',
      IGW_INET.link,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      internetNs,
    ]);
    await ipBatch(routerNs, [
      `addr add ${ROUTER_UPLINK.address}/30 dev ${ROUTER_UPLINK.link}`,
      `link set ${ROUTER_UPLINK.link} up`,
    ]);
    await ipBatch(igwNs, [
      `addr add ${IGW_VPC.address}/30 dev ${IGW_VPC.link}`,
      `link set ${IGW_VPC.link} up`,
      `addr add ${IGW_INET.address}/24 dev ${IGW_INET.link}`,
      `link set ${IGW_INET.link} up`,
      `route add ${VPC_CIDR} via ${ROUTER_UPLINK.address} dev ${IGW_VPC.link}`,
    ]);
    await ipBatch(internetNs, [
      `addr add ${INTERNET_HOST}/24 dev eth0`,
      `addr add ${INTERNET_EXCLUDED_HOST}/24 dev eth0`,
      'link set eth0 up',
      `route add default via ${IGW_INET.address} dev eth0`,
    ]);
    await nft(igwNs, this.ruleset());
  }

  /** The VPC route table's `0.0.0.0/0 → igw-…`, as the router's next hop. */
  get routerNextHop(): { link: string; gateway: string } {
    return { link: ROUTER_UPLINK.link, gateway: IGW_VPC.address };
  }

  private ruleset(): string {
    const pairs = Object.entries(this.o.publicOf);
    const primaries = pairs.map(([priv]) => priv).join(', ');
    const publics = pairs.map(([, pub]) => pub).join(', ');
    const dnat = pairs.map(([priv, pub]) => `${pub} : ${priv}`).join(', ');
    const snat = pairs.map(([priv, pub]) => `${priv} : ${pub}`).join(', ');
    const outbound = `iifname "${IGW_VPC.link}" oifname "${IGW_INET.link}"`;
    return `table ip igw {
  counter src_not_primary {
  }
  counter dst_not_public {
  }
  chain pre_filter {
    type filter hook prerouting priority -300; policy accept;
    iifname "${IGW_INET.link}" ip daddr ${PUBLIC_RANGE} ip daddr != { ${publics} } counter name "dst_not_public" drop
  }
  chain pre_nat {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "${IGW_INET.link}" dnat to ip daddr map { ${dnat} }
  }
  chain forward_check {
    type filter hook forward priority filter; policy accept;
    ${outbound} ip saddr != { ${primaries} } counter name "src_not_primary" drop
  }
  chain post_nat {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "${IGW_INET.link}" snat to ip saddr map { ${snat} }
  }
}
`;
  }
}
