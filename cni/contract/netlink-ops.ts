/**
 * @module netlink operations
 * Thin, typed helpers over `netlink@0.3.0` shared by the plumbing worker and
 * the offline host-side teardown. This file imports `netlink` only (no koffi,
 * no setns), so the CNI plugin can bundle it for its rare offline DEL path.
 * In the contract because that teardown is shared (./host-teardown.ts); ipamd's
 * netns code imports it through ipamd/netns/netlink-ops.ts.
 *
 * netlink 0.3.0 quirks handled here (see docs/cni.md):
 * - errors are plain `Error('Request rejected: EEXIST')` with no `code`:
 *   {@link netlinkErrno} recovers the errno name from the message, once;
 * - `request()` has no default timeout, so every call passes {@link OPTS};
 * - `newLink`/`newRoute` only ACK: indexes are looked up afterwards.
 */

import { AttrStream, FlagsNew, createRtNetlink, ifla, rt, type RtNetlinkSocket, type StreamData } from 'netlink';

export const AF_INET = 2;
export const RT_TABLE_MAIN = 254;
/** The fake next hop every Pod routes through; answered by a static neighbour entry. */
export const POD_GATEWAY = '169.254.1.1';

/** Every request carries a timeout: netlink 0.3.0 would otherwise wait forever. */
export const OPTS = { timeout: 2000 } as const;
export const CREATE_EXCL = FlagsNew.CREATE | FlagsNew.EXCL;
export const CREATE_REPLACE = FlagsNew.CREATE | FlagsNew.REPLACE;

export type RtSocket = RtNetlinkSocket;
export { createRtNetlink };

/** Errno names we branch on; anything else is reported verbatim. */
export type NetlinkErrno =
  'EEXIST' | 'ENOENT' | 'ENODEV' | 'ESRCH' | 'EBUSY' | 'EINVAL' | 'EPERM' | 'ETIMEDOUT' | string;

/** Recovers the errno name from a netlink 0.3.0 error (message text is its only carrier). */
export function netlinkErrno(err: unknown): NetlinkErrno | undefined {
  if (!(err instanceof Error)) return undefined;
  const m = /^Request rejected: ([A-Z0-9]+)$/.exec(err.message);
  if (m) return m[1];
  if (/timed? ?out/i.test(err.message)) return 'ETIMEDOUT';
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? code : undefined;
}

/** "Already gone" for a delete or a lookup: links report ENODEV, routes ESRCH, rules ENOENT. */
export function isGone(err: unknown): boolean {
  const e = netlinkErrno(err);
  return e === 'ENODEV' || e === 'ENOENT' || e === 'ESRCH' || e === 'EADDRNOTAVAIL';
}

/**
 * A failed plumbing step, carrying the step name and errno so callers can
 * report "host route 10.0.0.5/32: EEXIST" rather than a bare kernel word.
 */
export class NetlinkStepError extends Error {
  constructor(
    readonly step: string,
    readonly errno: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      `${step}: ${errno ?? (options?.cause instanceof Error ? options.cause.message : String(options?.cause))}`,
      options,
    );
    this.name = 'NetlinkStepError';
  }
}

/**
 * Repeats a delete until the kernel says "gone"; returns how many it deleted. Bounded: duplicates are possible
 * (an older version appended rules without EXCL), an endless loop is not.
 */
export async function deleteWhileFound(del: () => Promise<unknown>): Promise<number> {
  let n = 0;
  for (; n < 64; n++) {
    try {
      await del();
    } catch (err) {
      if (isGone(err)) break;
      throw err;
    }
  }
  return n;
}

/** Runs one netlink call, naming the step in any error. */
export async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof NetlinkStepError) throw err;
    throw new NetlinkStepError(name, netlinkErrno(err), { cause: err });
  }
}

export function toBuf(d: StreamData): Buffer {
  const s = new AttrStream();
  s.emit(d);
  return Buffer.concat(s.bufs);
}

/** Dotted quad to 4 bytes; callers validated the address already. */
export function ip4(s: string): Buffer {
  return Buffer.from(s.split('.').map(Number));
}

export function ip4ToString(b: Buffer | undefined): string | undefined {
  return b && b.length === 4 ? `${b[0]}.${b[1]}.${b[2]}.${b[3]}` : undefined;
}

export function macToString(b: Buffer | undefined): string | undefined {
  return b ? [...b].map((x) => x.toString(16).padStart(2, '0')).join(':') : undefined;
}

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
export function isIPv4(s: string): boolean {
  return IPV4_RE.test(s);
}

/**
 * IFLA_LINKINFO for a veth whose peer is created directly inside another
 * netns (IFLA_NET_NS_FD inside VETH_INFO_PEER), so no link is ever moved.
 * `address` sets the peer's MAC, so the caller knows it without a lookup. (The peer cannot be brought up in
 * the same request: veth_open answers ENOTCONN until both ends are joined.)
 */
export function vethLinkinfo(peerName: string, peerNsFd: number, mtu: number, address?: Buffer): Buffer {
  const peer = Buffer.concat([
    rt.formatLink({}),
    toBuf(ifla.formatLinkAttrs({ ifname: peerName, netNsFd: peerNsFd, mtu, ...(address ? { address } : {}) })),
  ]);
  return toBuf(ifla.formatInfo({ kind: 'veth', data: toBuf(ifla.formatVethInfo({ peer })) }));
}

export interface LinkInfo {
  index: number;
  mac: string;
  mtu: number | undefined;
  up: boolean;
  kind: string | undefined;
}

/** Looks a link up by name; `undefined` when it does not exist. */
export async function findLink(s: RtSocket, ifname: string): Promise<LinkInfo | undefined> {
  try {
    const [m] = await s.getLink({}, { ifname }, OPTS);
    if (!m) return undefined;
    let kind: string | undefined;
    if (m.attrs.linkinfo) kind = ifla.parseInfo(m.attrs.linkinfo).kind;
    return {
      index: m.data.index!,
      mac: macToString(m.attrs.address) ?? '',
      mtu: m.attrs.mtu,
      up: m.data.flags?.up === true,
      kind,
    };
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
}

export async function setUp(s: RtSocket, index: number): Promise<void> {
  await s.setLink({ index, flags: { up: true }, change: { up: true } }, {}, OPTS);
}

/** Deletes a link by name; true when it existed. Deleting one veth end removes both ends and their routes. */
export async function deleteLinkByName(s: RtSocket, ifname: string): Promise<boolean> {
  try {
    await s.delLink({}, { ifname }, OPTS);
    return true;
  } catch (err) {
    if (isGone(err)) return false;
    throw err;
  }
}

/** A /32 link-scope route in `table` (main unless given) to `dst` out of `oif`. */
export function linkRoute(dst: string, oif: number, table = RT_TABLE_MAIN) {
  return [
    { family: AF_INET, dstLen: 32, table: table < 256 ? table : 252, protocol: 'BOOT', scope: 'LINK', type: 'UNICAST' },
    { dst: ip4(dst), oif, table },
  ] as const;
}

export interface RouteView {
  dst: string | undefined;
  dstLen: number;
  gateway: string | undefined;
  oif: number | undefined;
  table: number;
  scope: string | number | undefined;
}

/** IPv4 unicast routes of one table (default: main). */
export async function listRoutes(s: RtSocket, table = RT_TABLE_MAIN): Promise<RouteView[]> {
  const msgs = await s.getRoutes({ family: AF_INET }, {}, OPTS);
  return msgs
    .map((m) => ({
      dst: ip4ToString(m.attrs.dst),
      dstLen: m.data.dstLen ?? 0,
      gateway: ip4ToString(m.attrs.gateway),
      oif: m.attrs.oif,
      table: m.attrs.table ?? m.data.table ?? 0,
      scope: m.data.scope,
      type: m.data.type,
    }))
    .filter((r) => r.table === table && (r.type === 'UNICAST' || r.type === 1));
}

/**
 * Deletes the main-table /32 route to `ip` out of `oif`, if one is left
 * (normally it goes with the veth). `oif` is required on purpose: a route to
 * the same address via another link belongs to whoever holds it now.
 */
export async function deleteHostRoute(s: RtSocket, ip: string, oif: number): Promise<boolean> {
  try {
    await s.delRoute(
      { family: AF_INET, dstLen: 32, table: RT_TABLE_MAIN, scope: 'NOWHERE' },
      { dst: ip4(ip), oif },
      OPTS,
    );
    return true;
  } catch (err) {
    if (isGone(err)) return false;
    throw err;
  }
}
