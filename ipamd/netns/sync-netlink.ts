/**
 * @module synchronous netlink transport (plumbing worker only)
 * A blocking AF_NETLINK socket driven through libc with koffi, shaped like
 * `netlink@0.3.0`'s `RawNetlinkSocket` so that library's message codecs and
 * `RtNetlinkSocket` API run on top of it unchanged.
 *
 * Why not the library's own native socket: its addon calls JavaScript from
 * libuv poll and timer callbacks without catching C++ exceptions (the source
 * says "FIXME: do we need to try/catch when calling callbacks?"). When that
 * call fails — a JS callback that throws, or any callback while a worker
 * thread is being terminated — `Napi::Error` escapes a C callback and the
 * process dies in `std::terminate` (exit 134). After a read callback closes
 * the socket it also starts a watcher it has already freed. Here nothing
 * native ever calls back into JavaScript: every kernel call returns, and a
 * failure is an errno turned into an ordinary Error with `code`.
 *
 * Blocking is fine on the plumbing thread: a request is answered by the
 * kernel in microseconds, and SO_RCVTIMEO bounds a lost answer.
 */

import { EventEmitter } from 'node:events';
import * as util from 'node:util';
import koffi from 'koffi';
import { NetlinkSocket, RtNetlinkSocket } from 'netlink';
import type { RtSocket } from '../../cni/contract/netlink-ops.js';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;
const SOL_SOCKET = 1;
const SO_SNDTIMEO = 21;
const SO_RCVTIMEO = 20;
const MSG_PEEK = 2;
const MSG_TRUNC = 0x20;
const EINTR = 4;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_MULTI = 0x2;
const NLM_F_ACK = 0x4;
const NLM_F_DUMP = 0x300;
const NLMSG_HDRLEN = 16;
/** Datagrams per answer we accept before calling the kernel's reply runaway (a dump of ~100k routes). */
const MAX_DATAGRAMS = 20_000;

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  getsockname(fd: number, addr: Buffer, len: Buffer): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  send(fd: number, buf: Buffer, len: number, flags: number): number;
  recv(fd: number, buf: Buffer | null, len: number, flags: number): number;
  close(fd: number): number;
}

let libc: Libc | undefined;
function loadLibc(): Libc {
  if (libc) return libc;
  const lib = koffi.load('libc.so.6');
  libc = {
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    bind: lib.func('int bind(int fd, const void *addr, uint32_t len)'),
    getsockname: lib.func('int getsockname(int fd, void *addr, void *len)'),
    setsockopt: lib.func('int setsockopt(int fd, int level, int name, const void *value, uint32_t len)'),
    send: lib.func('intptr_t send(int fd, const void *buf, size_t len, int flags)'),
    recv: lib.func('intptr_t recv(int fd, void *buf, size_t len, int flags)'),
    close: lib.func('int close(int fd)'),
  } as Libc;
  return libc;
}

/** An errno as Node reports system errors: `code` is the name netlink-ops branches on. */
export function errnoError(syscall: string, errno: number): NodeJS.ErrnoException {
  const code = util.getSystemErrorName(-errno);
  return Object.assign(new Error(`${syscall}: ${code}`), { code, errno: -errno, syscall });
}

/** The part of `RawNetlinkSocket` that `NetlinkSocket` uses. */
export class SyncRawNetlinkSocket extends EventEmitter {
  private fd: number;
  private readonly port: number;
  private readonly c = loadLibc();

  constructor(timeoutMs = 2000) {
    super();
    const fd = this.c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) throw errnoError('socket(AF_NETLINK)', koffi.errno());
    this.fd = fd;
    try {
      const tv = Buffer.alloc(16);
      tv.writeBigInt64LE(BigInt(Math.floor(timeoutMs / 1000)), 0);
      tv.writeBigInt64LE(BigInt((timeoutMs % 1000) * 1000), 8);
      for (const opt of [SO_RCVTIMEO, SO_SNDTIMEO]) {
        if (this.c.setsockopt(fd, SOL_SOCKET, opt, tv, tv.length) !== 0) throw errnoError('setsockopt', koffi.errno());
      }
      const sa = Buffer.alloc(12);
      sa.writeUInt16LE(AF_NETLINK, 0); // nl_pid 0: the kernel picks a free port
      if (this.c.bind(fd, sa, sa.length) !== 0) throw errnoError('bind(AF_NETLINK)', koffi.errno());
      const len = Buffer.alloc(4);
      len.writeUInt32LE(sa.length, 0);
      if (this.c.getsockname(fd, sa, len) !== 0) throw errnoError('getsockname', koffi.errno());
      this.port = sa.readUInt32LE(4);
    } catch (err) {
      this.c.close(fd);
      this.fd = -1;
      throw err;
    }
  }

  address(): { port: number; groups: number } {
    return { port: this.port, groups: 0 };
  }

  // The library (un)references its socket around requests; a blocking fd holds no event-loop handle.
  ref(): void {}
  unref(): void {}

  /**
   * Sends one request and reads its whole answer before returning; the send
   * callback and the answer's messages are delivered on the next tick, after
   * `NetlinkSocket.request()` has registered its handler for the sequence.
   */
  send(msg: Buffer | Buffer[], _options: unknown, callback?: (error?: Error) => void): void {
    const buf = Array.isArray(msg) ? Buffer.concat(msg) : msg;
    let replies: Buffer[] = [];
    let failure: Error | undefined;
    try {
      if (this.fd < 0) throw new Error('netlink socket is closed');
      this.sendAll(buf);
      replies = this.readAnswer(buf);
    } catch (err) {
      failure = err as Error;
    }
    process.nextTick(() => {
      if (failure) {
        if (callback) callback(failure);
        else this.emit('error', failure);
        return;
      }
      callback?.(undefined);
      for (const r of replies) this.emit('message', r, { port: 0, groups: 0 });
    });
  }

  /**
   * Sends several requests in one datagram and reads until the kernel has acknowledged (NLMSG_ERROR, 0 or an
   * errno) every sequence in `seqs`; returns every datagram read, echoes included. rtnetlink handles the
   * messages of one datagram in order and goes on after a failed one, so each request gets its own answer.
   */
  exchange(buf: Buffer, seqs: ReadonlySet<number>): Buffer[] {
    if (this.fd < 0) throw new Error('netlink socket is closed');
    this.sendAll(buf);
    const open = new Set(seqs);
    const out: Buffer[] = [];
    for (let i = 0; i < MAX_DATAGRAMS && open.size > 0; i++) {
      const d = this.recvOne();
      out.push(d);
      for (let off = 0; off + NLMSG_HDRLEN <= d.length;) {
        const len = d.readUInt32LE(off);
        if (d.readUInt16LE(off + 4) === NLMSG_ERROR) open.delete(d.readUInt32LE(off + 8));
        if (len < NLMSG_HDRLEN) break;
        off += (len + 3) & ~3;
      }
    }
    if (open.size > 0) throw new Error(`netlink batch: no answer to sequences ${[...open].join(', ')}`);
    return out;
  }

  close(): void {
    if (this.fd < 0) return;
    this.c.close(this.fd);
    this.fd = -1;
    this.emit('close');
  }

  private sendAll(buf: Buffer): void {
    for (;;) {
      const n = this.c.send(this.fd, buf, buf.length, 0);
      if (n === buf.length) return;
      const e = koffi.errno();
      if (n < 0 && e === EINTR) continue;
      if (n >= 0) throw new Error(`netlink send wrote ${n} of ${buf.length} bytes`);
      throw errnoError('send(netlink)', e);
    }
  }

  /** Reads datagrams until the kernel's DONE or ERROR/ACK for the request's sequence number. */
  private readAnswer(request: Buffer): Buffer[] {
    if (request.length < NLMSG_HDRLEN) throw new Error('netlink request shorter than its header');
    const flags = request.readUInt16LE(6);
    const seq = request.readUInt32LE(8);
    const dump = (flags & NLM_F_DUMP) === NLM_F_DUMP;
    if (!(flags & NLM_F_ACK) && !dump) return [];
    const out: Buffer[] = [];
    for (let i = 0; i < MAX_DATAGRAMS; i++) {
      const d = this.recvOne();
      out.push(d);
      if (endsAnswer(d, seq, (flags & NLM_F_ACK) !== 0)) return out;
    }
    throw new Error(`netlink answer to sequence ${seq} did not end after ${MAX_DATAGRAMS} datagrams`);
  }

  private recvOne(): Buffer {
    for (;;) {
      // MSG_PEEK|MSG_TRUNC answers the datagram's real size without consuming it.
      const size = this.c.recv(this.fd, null, 0, MSG_PEEK | MSG_TRUNC);
      if (size < 0) {
        const e = koffi.errno();
        if (e === EINTR) continue;
        throw errnoError('recv(netlink)', e);
      }
      const buf = Buffer.alloc(Math.max(size, NLMSG_HDRLEN));
      const n = this.c.recv(this.fd, buf, buf.length, 0);
      if (n < 0) {
        const e = koffi.errno();
        if (e === EINTR) continue;
        throw errnoError('recv(netlink)', e);
      }
      return buf.subarray(0, n);
    }
  }
}

/** True when datagram `d` holds the message that closes the answer to `seq`. */
function endsAnswer(d: Buffer, seq: number, acked: boolean): boolean {
  for (let off = 0; off + NLMSG_HDRLEN <= d.length;) {
    const len = d.readUInt32LE(off);
    const type = d.readUInt16LE(off + 4);
    const flags = d.readUInt16LE(off + 6);
    if (d.readUInt32LE(off + 8) === seq) {
      if (type === NLMSG_DONE || type === NLMSG_ERROR) return true;
      if (!acked && !(flags & NLM_F_MULTI)) return true;
    }
    if (len < NLMSG_HDRLEN) return true; // malformed: stop reading, the codec reports it
    off += (len + 3) & ~3;
  }
  return false;
}

/** An rtnetlink socket on the synchronous transport, in the calling thread's network namespace. */
export function createSyncRtNetlink(timeoutMs = 2000): RtSocket {
  const raw = new SyncRawNetlinkSocket(timeoutMs);
  // The library types its constructor argument as its own native class; ours has the same surface.
  return new RtNetlinkSocket(new NetlinkSocket(raw as never));
}
