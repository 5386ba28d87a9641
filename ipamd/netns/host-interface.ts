/**
 * @module host interface links (runs on the plumbing worker thread)
 * The host side of a secondary cloud interface, as the AWS VPC CNI's
 * `setupENINetwork` makes it: find the Linux link by the interface's MAC, set
 * its MTU, bring it up, and fill its policy-routing table (deviceIndex + 1)
 * with `<gw>/32 dev <link> scope link` and `default via <gw> dev <link>`,
 * where gw is the subnet's first usable address (network + 1 on AWS); put the
 * interface's own primary address on the link, delete the subnet route the
 * kernel then adds to `main` (it would send traffic for the whole subnet out
 * of this link), and add `from <primary> lookup <table>` at 32765. Pod
 * addresses of that interface reach the table through their `from <ip>`
 * rules (pod-wiring.ts), so their traffic leaves through the interface that
 * owns them.
 *
 * Host netns only: no setns, so these functions take a host rtnetlink socket.
 * Idempotent: what is already right is not rewritten (the result lists what
 * changed). "No link with this MAC" is an answer ('absent'), not an error: the
 * kernel can show a freshly attached interface seconds after the cloud does.
 */

import { Address4 } from 'ip-address';
import { NetnsError } from '../../providers/errors.js';
import {
  AF_INET,
  CREATE_REPLACE,
  OPTS,
  RT_TABLE_MAIN,
  CREATE_EXCL,
  ip4,
  ip4ToString,
  isGone,
  isIPv4,
  linkRoute,
  listRoutes,
  macToString,
  step,
  type RouteView,
  type RtSocket,
} from '../../cni/contract/netlink-ops.js';
import { deleteInterfaceRulesOfTable, ensureInterfaceRule } from './policy-rules.js';
import { routeTableFor } from './route-table.js';

export { routeTableFor };

export interface HostInterfaceSpec {
  /** The cloud interface's MAC (`NetworkInterface.mac`), any case. */
  mac: string;
  /** Attachment slot, >= 1: the primary (0) uses the main table and is never touched here. */
  deviceIndex: number;
  /** The interface's subnet; its gateway is network + 1. */
  subnetCidr: string;
  /** The interface's own address, inside subnetCidr. */
  primaryIp: string;
  mtu: number;
}

export interface HostInterfaceResult {
  state: 'configured' | 'absent';
  table: number;
  /** Link name, when found. */
  link?: string;
  gateway: string;
  /** What this call changed ('mtu', 'up', 'address', …); empty when everything was already right. */
  changed: string[];
}

const MAC_RE = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;
/** The kernel's reserved tables (default 253, main 254, local 255) are never an interface table. */
const RESERVED_TABLES = new Set([253, RT_TABLE_MAIN, 255]);

/** The subnet's first usable address (network + 1): the VPC router on AWS. */
export function subnetGateway(subnetCidr: string): string {
  const a = new Address4(subnetCidr);
  return Address4.fromBigInt(a.startAddress().bigInt() + 1n).address;
}

/** Throws a NetnsError unless `deviceIndex` is a secondary slot whose table is not a reserved one. */
export function checkDeviceIndex(deviceIndex: unknown): asserts deviceIndex is number {
  if (
    typeof deviceIndex !== 'number' ||
    !Number.isInteger(deviceIndex) ||
    deviceIndex < 1 ||
    deviceIndex > 0x7ffffffe
  ) {
    throw new NetnsError(
      'invalid host interface request: deviceIndex must be an integer >= 1 ' +
        `(the primary interface is not managed here), got ${String(deviceIndex)}`,
    );
  }
  if (RESERVED_TABLES.has(routeTableFor(deviceIndex))) {
    throw new NetnsError(
      `invalid host interface request: deviceIndex ${deviceIndex} maps to reserved route table ` +
        `${routeTableFor(deviceIndex)}`,
    );
  }
}

/** Throws a NetnsError naming the bad field; returns the spec with the MAC lower-cased. */
export function validateHostInterface(i: Partial<HostInterfaceSpec>): HostInterfaceSpec {
  const bad = (m: string): never => {
    throw new NetnsError(`invalid host interface request: ${m}`);
  };
  if (typeof i.mac !== 'string' || !MAC_RE.test(i.mac.toLowerCase()))
    bad(`mac ${JSON.stringify(i.mac)} is not aa:bb:cc:dd:ee:ff`);
  checkDeviceIndex(i.deviceIndex);
  const cidr = i.subnetCidr;
  if (typeof cidr !== 'string' || !cidr.includes('/') || !Address4.isValid(cidr))
    bad(`subnetCidr ${JSON.stringify(cidr)} is not an IPv4 CIDR`);
  // A /31 or /32 has no "network + 1" gateway distinct from the hosts.
  if (new Address4(cidr!).subnetMask > 30) bad(`subnetCidr ${cidr} is too small to have a gateway`);
  if (typeof i.mtu !== 'number' || !Number.isInteger(i.mtu) || i.mtu < 576 || i.mtu > 65535)
    bad(`mtu ${String(i.mtu)} is not 576-65535`);
  const ip = i.primaryIp;
  if (typeof ip !== 'string' || !isIPv4(ip)) bad(`primaryIp ${JSON.stringify(ip)} is not an IPv4 address`);
  if (!new Address4(ip!).isInSubnet(new Address4(cidr!))) bad(`primaryIp ${ip} is not in subnetCidr ${cidr}`);
  return { mac: i.mac!.toLowerCase(), deviceIndex: i.deviceIndex!, subnetCidr: cidr!, primaryIp: ip!, mtu: i.mtu! };
}

interface FoundLink {
  index: number;
  name: string;
  mtu: number | undefined;
  up: boolean;
}

/** Every link whose hardware address is `mac` (one dump; links have no MAC filter in the kernel). */
export async function linksByMac(s: RtSocket, mac: string): Promise<FoundLink[]> {
  const links = await step('list links', () => s.getLinks({}, {}, OPTS));
  return links
    .filter((m) => macToString(m.attrs.address) === mac)
    .map((m) => ({
      index: m.data.index!,
      name: m.attrs.ifname ?? `#${m.data.index}`,
      mtu: m.attrs.mtu,
      up: m.data.flags?.up === true,
    }));
}

const isLinkScope = (r: RouteView) => r.scope === 'LINK' || r.scope === 253;

/** Configures the link and its table; see the module comment. Validates first. */
export async function setUpHostInterface(s: RtSocket, spec: HostInterfaceSpec): Promise<HostInterfaceResult> {
  const i = validateHostInterface(spec);
  const table = routeTableFor(i.deviceIndex);
  const gateway = subnetGateway(i.subnetCidr);
  const found = await linksByMac(s, i.mac);
  if (found.length === 0) return { state: 'absent', table, gateway, changed: [] };
  // Two links with one MAC (a VLAN or bond on top of the interface) would make
  // "the" link a guess; touching the wrong one could cut the node off.
  if (found.length > 1)
    throw new NetnsError(
      `links ${found.map((l) => l.name).join(', ')} share MAC ${i.mac}: not configuring any of them`,
    );
  const link = found[0]!;
  const changed: string[] = [];

  if (link.mtu !== i.mtu) {
    await step(`set ${link.name} mtu ${i.mtu}`, () => s.setLink({ index: link.index }, { mtu: i.mtu }, OPTS));
    changed.push('mtu');
  }
  if (!link.up) {
    await step(`set ${link.name} up`, () =>
      s.setLink({ index: link.index, flags: { up: true }, change: { up: true } }, {}, OPTS),
    );
    changed.push('up');
  }

  const routes = await step(`list routes of table ${table}`, () => listRoutes(s, table));
  const hasGwRoute = routes.some(
    (r) => r.dst === gateway && r.dstLen === 32 && r.oif === link.index && !r.gateway && isLinkScope(r),
  );
  const hasDefault = routes.some((r) => r.dstLen === 0 && r.gateway === gateway && r.oif === link.index);
  // REPLACE, not EXCL: a route to the same destination in this table that
  // points elsewhere is left from an earlier interface in this slot, so stale.
  if (!hasGwRoute) {
    const [hdr, attrs] = linkRoute(gateway, link.index, table);
    await step(`route ${gateway} dev ${link.name} scope link table ${table}`, () =>
      s.newRoute({ ...hdr }, { ...attrs }, { flags: CREATE_REPLACE, ...OPTS }),
    );
    changed.push('gateway route');
  }
  if (!hasDefault) {
    // The kernel checks the gateway against this table first, so the link route above must exist already.
    await step(`default via ${gateway} dev ${link.name} table ${table}`, () =>
      s.newRoute(
        {
          family: AF_INET,
          dstLen: 0,
          table: table < 256 ? table : 252,
          protocol: 'BOOT',
          scope: 'UNIVERSE',
          type: 'UNICAST',
        },
        { gateway: ip4(gateway), oif: link.index, table },
        { flags: CREATE_REPLACE, ...OPTS },
      ),
    );
    changed.push('default route');
  }
  changed.push(...(await ownAddress(s, link, i)));
  if (await step(`rule from ${i.primaryIp} lookup ${table}`, () => ensureInterfaceRule(s, i.primaryIp, table))) {
    changed.push('interface rule');
  }
  return { state: 'configured', table, link: link.name, gateway, changed };
}

/**
 * The interface's primary address on its link (EC2's own DHCP-less equivalent of what the AWS VPC CNI's
 * setupENINetwork does), and no `<subnet> dev <link>` in main: the kernel adds that route with the address,
 * and it would send traffic for the whole subnet (the node's own included) out of this link.
 */
async function ownAddress(s: RtSocket, link: FoundLink, i: HostInterfaceSpec): Promise<string[]> {
  const changed: string[] = [];
  const len = new Address4(i.subnetCidr).subnetMask;
  const addrs = await step(`list addresses of ${link.name}`, () =>
    s.getAddresses({ family: AF_INET, index: link.index }, {}, OPTS),
  );
  const has = addrs.some(
    (a) =>
      a.data.index === link.index &&
      a.data.prefixlen === len &&
      ip4ToString(a.attrs.local ?? a.attrs.address) === i.primaryIp,
  );
  if (!has) {
    await step(`address ${i.primaryIp}/${len} on ${link.name}`, () =>
      s.newAddress(
        { family: AF_INET, prefixlen: len, index: link.index },
        { local: ip4(i.primaryIp), address: ip4(i.primaryIp) },
        { flags: CREATE_EXCL, ...OPTS },
      ),
    );
    changed.push('address');
  }
  const net = new Address4(i.subnetCidr).startAddress().correctForm();
  const main = await step('list routes of table main', () => listRoutes(s, RT_TABLE_MAIN));
  if (main.some((r) => r.dst === net && r.dstLen === len && r.oif === link.index && !r.gateway)) {
    await step(`delete route ${i.subnetCidr} dev ${link.name} from main`, () =>
      s.delRoute(
        { family: AF_INET, dstLen: len, table: RT_TABLE_MAIN, scope: 'NOWHERE' },
        { dst: ip4(net), oif: link.index },
        OPTS,
      ),
    ).catch((err: unknown) => {
      if (!isGone((err as { cause?: unknown }).cause ?? err)) throw err;
    });
    changed.push('subnet route removed from main');
  }
  return changed;
}

/**
 * Deletes every IPv4 unicast route of the interface's table (deviceIndex + 1;
 * the table belongs to that slot). Idempotent: an empty or missing table is
 * success. The link itself is left alone: it is the cloud's to remove.
 */
export async function tearDownHostInterface(
  s: RtSocket,
  t: { deviceIndex: number },
): Promise<{ table: number; routesDeleted: number }> {
  checkDeviceIndex(t.deviceIndex);
  const table = routeTableFor(t.deviceIndex);
  const routes = await step(`list routes of table ${table}`, () => listRoutes(s, table));
  // Gateway routes first, then the link routes they lean on.
  routes.sort((a, b) => Number(!!b.gateway) - Number(!!a.gateway));
  let routesDeleted = 0;
  for (const r of routes) {
    const dst = r.dstLen === 0 ? 'default' : `${r.dst}/${r.dstLen}`;
    const what = `${dst}${r.gateway ? ` via ${r.gateway}` : ''} table ${table}`;
    try {
      await step(`delete route ${what}`, () =>
        s.delRoute(
          { family: AF_INET, dstLen: r.dstLen, table: table < 256 ? table : 252, scope: 'NOWHERE' },
          {
            ...(r.dst ? { dst: ip4(r.dst) } : {}),
            ...(r.gateway ? { gateway: ip4(r.gateway) } : {}),
            ...(r.oif ? { oif: r.oif } : {}),
            table,
          },
          OPTS,
        ),
      );
      routesDeleted++;
    } catch (err) {
      if (!isGone((err as { cause?: unknown }).cause ?? err)) throw err;
    }
  }
  // The interface's own rule goes with its table (the address goes with the link, when the cloud detaches it).
  await step(`delete rules to table ${table}`, () => deleteInterfaceRulesOfTable(s, table));
  return { table, routesDeleted };
}
