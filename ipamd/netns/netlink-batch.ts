/**
 * @module batched rtnetlink requests (plumbing worker only)
 * Several rtnetlink requests written in one datagram, answered by one read loop: the kernel handles the
 * messages of a datagram in order, acknowledges each (0 or an errno), and goes on after a failed one. One
 * round trip then costs what one request cost; a Pod's wiring is three of them instead of sixteen.
 * The payloads are netlink 0.3.0's own codecs, so a batched message is byte for byte what
 * `RtNetlinkSocket.newRoute()` and its siblings would send. Only the synchronous transport (sync-netlink.ts)
 * can batch: it is the one that lets us read raw datagrams.
 */

import * as util from 'node:util';
import { AttrStream, rt } from 'netlink';
import { NetlinkStepError, type RtSocket } from '../../cni/contract/netlink-ops.js';
import { SyncRawNetlinkSocket } from './sync-netlink.js';

const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
/** Asks the kernel to answer a NEWLINK with the link it made (honoured since Linux 6.1; ignored before). */
export const NLM_F_ECHO = 0x8;
const NLMSG_ERROR = 2;
const HDR = 16;

export const RTM = {
  NEWLINK: 16,
  SETLINK: 19,
  NEWADDR: 20,
  NEWROUTE: 24,
  NEWNEIGH: 28,
  NEWRULE: 32,
  DELRULE: 33,
} as const;

type Args<K extends keyof RtSocket> = RtSocket[K] extends (d: infer D, a: infer A, ...r: never[]) => unknown
  ? [NonNullable<D>, NonNullable<A>]
  : never;

function encode(f: (s: AttrStream) => void): Buffer {
  const s = new AttrStream();
  f(s);
  return Buffer.concat(s.bufs);
}

/** Request bodies, formatted by netlink 0.3.0 as its request methods format them. */
export const body = {
  link: (...[data, attrs]: Args<'newLink'>) => encode((s) => rt.formatLinkMessage({ kind: 'link', data, attrs }, s)),
  address: (...[data, attrs]: Args<'newAddress'>) =>
    encode((s) => rt.formatAddressMessage({ kind: 'address', data, attrs }, s)),
  route: (...[data, attrs]: Args<'newRoute'>) =>
    encode((s) => rt.formatRouteMessage({ kind: 'route', data, attrs }, s)),
  neighbor: (...[data, attrs]: Args<'newNeighbor'>) =>
    encode((s) => rt.formatNeighborMessage({ kind: 'neighbor', data, attrs }, s)),
  rule: (...[data, attrs]: Args<'newRule'>) => encode((s) => rt.formatRuleMessage({ kind: 'rule', data, attrs }, s)),
};

export interface BatchRequest {
  /** Names the request in an error, as `step()` names a single call. */
  step: string;
  type: number;
  /** NLM_F_CREATE, EXCL, REPLACE, ECHO…; REQUEST and ACK are always added. */
  flags?: number;
  body: Buffer;
}

export interface BatchAnswer {
  step: string;
  /** The errno name when the kernel refused the request ('EEXIST', 'ENOENT'…). */
  errno?: string;
  /** Bodies of the other messages the kernel sent for this request (an NLM_F_ECHO answer). */
  echoes: Buffer[];
}

/** Whether `s` runs on the synchronous transport, the only one that can batch. */
export function canBatch(s: RtSocket): boolean {
  return s.socket.socket instanceof SyncRawNetlinkSocket;
}

/** Sends `reqs` in one datagram and returns one answer per request, in order. Never throws for an errno. */
export function runBatch(s: RtSocket, reqs: readonly BatchRequest[]): BatchAnswer[] {
  const raw = s.socket.socket;
  if (!(raw instanceof SyncRawNetlinkSocket)) throw new Error('netlink batch needs the synchronous transport');
  const port = raw.address().port;
  const bySeq = new Map<number, BatchAnswer>();
  const parts: Buffer[] = [];
  for (const r of reqs) {
    const seq = s.socket.generateSeq();
    const len = HDR + r.body.length;
    const msg = Buffer.alloc((len + 3) & ~3);
    msg.writeUInt32LE(len, 0);
    msg.writeUInt16LE(r.type, 4);
    msg.writeUInt16LE((r.flags ?? 0) | NLM_F_REQUEST | NLM_F_ACK, 6);
    msg.writeUInt32LE(seq, 8);
    msg.writeUInt32LE(port, 12);
    r.body.copy(msg, HDR);
    parts.push(msg);
    bySeq.set(seq, { step: r.step, echoes: [] });
  }
  for (const d of raw.exchange(Buffer.concat(parts), new Set(bySeq.keys()))) {
    for (let off = 0; off + HDR <= d.length;) {
      const len = d.readUInt32LE(off);
      if (len < HDR || off + len > d.length) break;
      const answer = bySeq.get(d.readUInt32LE(off + 8));
      if (answer && d.readUInt16LE(off + 4) === NLMSG_ERROR) {
        const err = d.readInt32LE(off + HDR);
        if (err < 0) answer.errno = util.getSystemErrorName(err);
      } else if (answer) answer.echoes.push(Buffer.from(d.subarray(off + HDR, off + len)));
      off += (len + 3) & ~3;
    }
  }
  return [...bySeq.values()];
}

/** Throws the first refusal that is not in `tolerated`, as the single-call path (`step()`) would. */
export function mustAll(answers: readonly BatchAnswer[], tolerated: readonly string[] = []): void {
  const bad = answers.find((a) => a.errno && !tolerated.includes(a.errno));
  if (bad) throw new NetlinkStepError(bad.step, bad.errno);
}

const IFINFOMSG_LEN = 16;
const IFLA_LINK = 5;

/**
 * The index and IFLA_LINK (a veth's peer index, in the peer's namespace) of an echoed NEWLINK. Read by hand:
 * the echo carries the link's every attribute and statistic, and decoding them all costs more than the
 * request did.
 */
export function echoedLink(a: BatchAnswer): { index: number; peerIndex?: number } | undefined {
  for (const e of a.echoes) {
    if (e.length < IFINFOMSG_LEN) continue;
    const index = e.readInt32LE(4);
    if (index <= 0) continue;
    for (let off = IFINFOMSG_LEN; off + 4 <= e.length;) {
      const len = e.readUInt16LE(off);
      if (len < 4) break;
      if ((e.readUInt16LE(off + 2) & 0x3fff) === IFLA_LINK && len >= 8) {
        const peerIndex = e.readInt32LE(off + 4);
        return peerIndex > 0 ? { index, peerIndex } : { index };
      }
      off += (len + 3) & ~3;
    }
    return { index };
  }
  return undefined;
}
