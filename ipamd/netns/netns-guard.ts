/**
 * @module host namespace guard (plumbing worker only)
 * A Pod ADD names the namespace to wire by path, and ipamd opens that path in
 * its own process: `/proc/self/ns/net`, `/proc/<ipamd pid>/ns/net`, or a bind
 * mount of the host's namespace would make ipamd put the Pod's interface,
 * address and a metric-0 default route into the host itself. Before anything
 * is touched, the opened namespace is compared (device and inode, which is how
 * the kernel identifies a namespace) with every namespace that is not a Pod's:
 * the plumbing thread's, the daemon process's main thread's, and PID 1's.
 */

import * as fs from 'node:fs';
import koffi from 'koffi';

const CLONE_NEWNET = 0x40000000;
/** ioctl(2) NS_GET_NSTYPE: _IO(0xb7, 0x3). */
const NS_GET_NSTYPE = 0xb703;

export class NetnsRefusal extends Error {
  readonly code = 'NETNS_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'NetnsRefusal';
  }
}

interface Identity {
  dev: number;
  ino: number;
  what: string;
}

export class NetnsGuard {
  private readonly forbidden: Identity[];
  private readonly nsType: (fd: number) => number;

  /** `ownNsFd`: the plumbing thread's own namespace, opened from /proc/thread-self at start. */
  constructor(ownNsFd: number) {
    const ioctl = koffi.load('libc.so.6').func('int ioctl(int fd, unsigned long request)') as (
      fd: number,
      req: number,
    ) => number;
    this.nsType = (fd) => ioctl(fd, NS_GET_NSTYPE);
    const own = fs.fstatSync(ownNsFd);
    this.forbidden = [{ dev: own.dev, ino: own.ino, what: "ipamd's plumbing thread's namespace" }];
    for (const [p, what] of [
      ['/proc/self/ns/net', "the ipamd process's namespace"],
      ['/proc/1/ns/net', "PID 1's (the host's) namespace"],
    ] as const) {
      try {
        const s = fs.statSync(p);
        this.forbidden.push({ dev: s.dev, ino: s.ino, what });
      } catch {
        // PID 1 may be invisible in a PID namespace without /proc access; the others still hold.
      }
    }
  }

  /** Throws {@link NetnsRefusal} unless `fd` (opened from `path`) is a network namespace that is not ours. */
  check(fd: number, path: string): void {
    const type = this.nsType(fd);
    if (type !== CLONE_NEWNET) {
      throw new NetnsRefusal(`${path} is not a network namespace (${type < 0 ? `errno ${koffi.errno()}` : type})`);
    }
    const s = fs.fstatSync(fd);
    const hit = this.forbidden.find((f) => f.dev === s.dev && f.ino === s.ino);
    if (hit) throw new NetnsRefusal(`refusing to wire ${path}: it is ${hit.what}, not a Pod's (net:[${s.ino}])`);
  }
}
