/**
 * @module CNI results
 * Builds the ADD success result from ipamd's {@link Allocation}, merges it
 * into a `prevResult` when vpc-ipam is not first in a chain, and reads back
 * what CHECK must verify. Pure functions; no I/O.
 *
 * Result shape (spec Section 5, "ADD Success"):
 * interfaces = [host veth {name, mac}, Pod interface {name, mac, sandbox}],
 * ips = [{address "ip/32", gateway 169.254.1.1, interface: index of the Pod interface}],
 * routes = [{dst 0.0.0.0/0, gw 169.254.1.1}], dns from the configuration.
 */

import type { Allocation } from './contract/protocol.js';
import { HOST_VETH_NAME_RE } from './contract/veth-name.js';
import { CniCode, CniError } from './errors.js';
import { compareVersions, type CniVersion } from './contract/spec-versions.js';

export interface CniInterface {
  name: string;
  mac?: string;
  /** 1.1.0. */
  mtu?: number;
  sandbox?: string;
  /** 1.1.0, other plugins' interfaces only. */
  socketPath?: string;
  /** 1.1.0, other plugins' interfaces only. */
  pciID?: string;
}
export interface CniIpConfig {
  /** 0.4.0 only. */
  version?: '4' | '6';
  address: string;
  gateway?: string;
  interface?: number;
}
export interface CniRoute {
  dst: string;
  gw?: string;
  /** 1.1.0: mtu, advmss, priority, table, scope (other plugins' routes only). */
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}
/**
 * The spec's DNS block: the configuration's `dns` and a result's are the same type. Declared with the result
 * so that prev-result.ts, which config.ts calls, need not import config.ts back (no cycle).
 */
export interface DnsConfig {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}
/** Closed on purpose: only spec fields can reach our output (see prev-result.ts). */
export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: CniRoute[];
  dns?: DnsConfig;
}

export const POD_GATEWAY = '169.254.1.1';

export interface AddResultInput {
  cniVersion: CniVersion;
  ifName: string;
  netns: string;
  mtu: number;
  dns: DnsConfig;
  allocation: Allocation;
  /** Host veth MAC when ipamd did not report it (read from sysfs by the caller). */
  hostMac?: string;
}

/** vpc-ipam's own part of a result (its interfaces indexed from 0). */
export function buildAddResult(i: AddResultInput): CniResult {
  const a = i.allocation;
  const withMtu = compareVersions(i.cniVersion, '1.1.0') >= 0; // `mtu` on interfaces is 1.1.0
  const interfaces: CniInterface[] = [];
  if (a.hostIf) {
    const host: CniInterface = { name: a.hostIf };
    const mac = a.hostMac ?? i.hostMac;
    if (mac) host.mac = mac;
    if (withMtu) host.mtu = i.mtu;
    interfaces.push(host);
  }
  const pod: CniInterface = { name: i.ifName };
  if (a.podMac) pod.mac = a.podMac;
  if (withMtu) pod.mtu = i.mtu;
  pod.sandbox = i.netns;
  interfaces.push(pod);
  const ip: CniIpConfig = {
    address: `${a.ip}/${a.prefixLength || 32}`,
    gateway: a.gateway || POD_GATEWAY,
    interface: interfaces.length - 1,
  };
  if (i.cniVersion === '0.4.0') ip.version = '4';
  return {
    cniVersion: i.cniVersion,
    interfaces,
    ips: [orderIp(ip)],
    routes: [{ dst: '0.0.0.0/0', gw: a.gateway || POD_GATEWAY }],
    dns: { ...i.dns },
  };
}

/** Stable key order in output: version, address, gateway, interface (as libcni prints). */
function orderIp(ip: CniIpConfig): CniIpConfig {
  const out: CniIpConfig = ip.version ? { version: ip.version, address: ip.address } : { address: ip.address };
  if (ip.gateway) out.gateway = ip.gateway;
  if (ip.interface !== undefined) out.interface = ip.interface;
  return out;
}

function isDnsEmpty(d: DnsConfig | undefined): boolean {
  if (!d) return true;
  return Object.values(d).every((v) => v === undefined || v === '' || (Array.isArray(v) && v.length === 0));
}

/**
 * vpc-ipam after another interface plugin: the spec says a plugin given a
 * prevResult must output it with its own changes. We append our interfaces
 * (shifting our `interface` indexes), IPs and routes (skipping identical
 * routes) and keep the earlier DNS unless it is empty. `prev` has been through
 * parsePrevResult, and only the spec's fields are copied, never the object.
 */
export function mergeWithPrev(prev: CniResult, ours: CniResult): CniResult {
  const pInterfaces = prev.interfaces ?? [];
  const offset = pInterfaces.length;
  const routes = [...(prev.routes ?? [])];
  for (const r of ours.routes ?? []) if (!routes.some((x) => x.dst === r.dst && x.gw === r.gw)) routes.push(r);
  return {
    cniVersion: ours.cniVersion,
    interfaces: [...pInterfaces, ...(ours.interfaces ?? [])],
    ips: [...(prev.ips ?? []), ...(ours.ips ?? []).map((ip) => ({ ...ip, interface: (ip.interface ?? 0) + offset }))],
    routes,
    dns: isDnsEmpty(prev.dns) ? (ours.dns ?? {}) : prev.dns!,
  };
}

/** What CHECK expects, read from prevResult. */
export interface Expected {
  ip: string;
  podMac?: string;
  hostIf?: string;
  hostMac?: string;
}

/**
 * Finds our Pod interface (name = CNI_IFNAME, sandbox = CNI_NETNS) and its
 * /32 in prevResult. Anything missing is a CHECK failure (102): the spec
 * requires the runtime to pass the ADD result, so a gap means drift.
 */
export function expectedFromPrev(prev: CniResult | undefined, ifName: string, netns: string): Expected {
  const fail = (why: string): never => {
    throw new CniError(CniCode.CheckFailed, `prevResult: ${why}`);
  };
  if (!prev) return fail('missing (CHECK needs the ADD result)');
  const ifs = prev.interfaces ?? [];
  const podIdx = ifs.findIndex((x) => x.name === ifName && x.sandbox === netns);
  if (podIdx < 0) return fail(`no interface ${ifName} with sandbox ${netns}`);
  const ip = (prev.ips ?? []).find((x) => x.interface === podIdx && x.address.endsWith('/32'));
  if (!ip) return fail(`no /32 address on interface ${podIdx} (${ifName})`);
  const out: Expected = { ip: ip.address.slice(0, -3) };
  const podMac = ifs[podIdx]?.mac;
  if (podMac) out.podMac = podMac;
  const host = hostInterfaceOf(prev);
  if (host) {
    out.hostIf = host.name;
    if (host.mac) out.hostMac = host.mac;
  }
  return out;
}

/** Our host veth in a result: the host-side (no sandbox) interface with a name of our pattern (any prefix). */
export function hostInterfaceOf(prev: CniResult | undefined): { name: string; mac?: string } | undefined {
  return (prev?.interfaces ?? []).find((x) => !x.sandbox && HOST_VETH_NAME_RE.test(x.name));
}

/** The Pod address recorded in a DEL's prevResult, if any (used by the offline DEL). */
export function podIpFromPrev(prev: CniResult | undefined, ifName: string): string | undefined {
  if (!prev) return undefined;
  const idx = (prev.interfaces ?? []).findIndex((x) => x.name === ifName && !!x.sandbox);
  if (idx < 0) return undefined;
  const ip = (prev.ips ?? []).find((x) => x.interface === idx && x.address.endsWith('/32'));
  return ip ? ip.address.slice(0, -3) : undefined;
}
