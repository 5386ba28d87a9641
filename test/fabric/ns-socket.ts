/**
 * @module listening sockets inside other namespaces
 * The fabric's servers (the emulated EC2/IMDS endpoints on each node's loopback, the metadata address in the
 * router, the echo servers in Pods and on the Internet host) all run in this test worker, but must listen in
 * the namespaces the traffic is in. A socket belongs to the network namespace of the thread that created it,
 * for life; so this makes the socket with libc while the main thread is briefly in the target namespace, and
 * hands the listening fd to Node (`server.listen({ fd })`). Node's own `listen(port, host)` cannot be used:
 * it creates the socket after a (deferred) lookup, when the thread is back home.
 *
 * The window is fully synchronous: setns(target), socket/bind/listen, setns(home), with the way back in a
 * `finally`; no JavaScript of anyone else can run inside it (see ipamd/netns/README.md for why that matters).
 */
import * as fs from 'node:fs';
import type * as net from 'node:net';
import koffi from 'koffi';

const CLONE_NEWNET = 0x40000000;
const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;

interface Libc {
  setns(fd: number, type: number): number;
  socket(domain: number, type: number, proto: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  listen(fd: number, backlog: number): number;
  setsockopt(fd: number, level: number, name: number, val: Buffer, len: number): number;
  getsockname(fd: number, addr: Buffer, len: Buffer): number;
  close(fd: number): number;
}

let libc: Libc | undefined;
function c(): Libc {
  if (libc) return libc;
  const lib = koffi.load('libc.so.6');
  libc = {
    setns: lib.func('int setns(int fd, int nstype)'),
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    bind: lib.func('int bind(int fd, void *addr, uint32_t len)'),
    listen: lib.func('int listen(int fd, int backlog)'),
    setsockopt: lib.func('int setsockopt(int fd, int level, int name, void *val, uint32_t len)'),
    getsockname: lib.func('int getsockname(int fd, _Out_ void *addr, _Inout_ void *len)'),
    close: lib.func('int close(int fd)'),
  } as unknown as Libc;
  return libc;
}

function sockaddr(host: string, port: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(AF_INET, 0);
  b.writeUInt16BE(port, 2);
  const parts = host.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) throw new Error(`not an IPv4 address: ${host}`);
  Buffer.from(parts).copy(b, 4);
  return b;
}

/**
 * A listening TCP fd bound to host:port inside the named namespace (`/run/netns/<ns>`), and the port it got
 * (port 0 picks one). The caller passes the fd to `server.listen({ fd })`.
 */
export function listenFdIn(ns: string, host: string, port: number): { fd: number; port: number } {
  const l = c();
  const home = fs.openSync('/proc/thread-self/ns/net', 'r');
  const target = fs.openSync(`/run/netns/${ns}`, 'r');
  let fd!: number; // set inside the try below, which throws when it cannot
  let err: string | undefined;
  try {
    if (l.setns(target, CLONE_NEWNET) !== 0) throw new Error(`setns(${ns}) failed: errno ${koffi.errno()}`);
    let thrown: { error: unknown } | undefined;
    try {
      fd = l.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) err = `socket: errno ${koffi.errno()}`;
      const one = Buffer.alloc(4);
      one.writeInt32LE(1);
      if (!err && l.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, 4) !== 0) err = `setsockopt: errno ${koffi.errno()}`;
      if (!err && l.bind(fd, sockaddr(host, port), 16) !== 0) err = `bind ${host}:${port}: errno ${koffi.errno()}`;
      if (!err && l.listen(fd, 128) !== 0) err = `listen: errno ${koffi.errno()}`;
    } catch (error) {
      thrown = { error };
    }
    // Home before anything else can run, whatever happened: a failed way back would leave the whole worker in the
    // fabric, and that outranks any error from inside.
    if (l.setns(home, CLONE_NEWNET) !== 0) throw new Error(`setns(home) failed: errno ${koffi.errno()}`);
    if (thrown) throw thrown.error;
  } finally {
    fs.closeSync(target);
    fs.closeSync(home);
  }
  if (err) {
    if (fd >= 0) l.close(fd);
    throw new Error(`listening in ${ns}: ${err}`);
  }
  const addr = Buffer.alloc(16);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(16);
  l.getsockname(fd, addr, len);
  return { fd, port: addr.readUInt16BE(2) };
}

/** Starts `server` on host:port inside `ns`; resolves with the bound port. */
export async function listenIn(server: net.Server, ns: string, host: string, port = 0): Promise<number> {
  const { fd, port: bound } = listenFdIn(ns, host, port);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return bound;
}
