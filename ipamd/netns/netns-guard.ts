/**
 * @module host namespace guard (the main thread's ADD check, and the plumbing worker's before it wires)
 * A Pod ADD names the namespace to wire by path, and ipamd opens that path in
 * its own process: `/proc/self/ns/net`, `/proc/<ipamd pid>/ns/net`, or a bind
 * mount of the host's namespace would make ipamd put the Pod's interface,
 * address and a metric-0 default route into the host itself. Before anything
 * is touched, the opened namespace is compared (device and inode, which is how
 * the kernel identifies a namespace) with every namespace that is not a Pod's:
 * the plumbing thread's, the daemon process's main thread's, and PID 1's.
 */

import * as fs from 'node:fs';

export const CLONE_NEWNET = 0x40000000;
/** ioctl(2) NS_GET_NSTYPE: _IO(0xb7, 0x3). */
export const NS_GET_NSTYPE = 0xb703;

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

/**
 * Opens a namespace path for reading. O_NONBLOCK: a FIFO (or a device that waits) put where a netns path should
 * be must not hang the thread that opens it; the guard then refuses what is not a namespace.
 */
export function openNetnsPath(path: string): number {
  try {
    return fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    throw new Error(`open netns ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * The plumbing worker gives it `nsType`, ioctl(NS_GET_NSTYPE) through koffi, and gets the exact answer. The main
 * thread (the ADD's check before an address is taken) loads no koffi, which would cost it about 2 MiB: it tells a
 * namespace file by nsfs's device and the name the kernel gives an open one (`net:[<inode>]`, as
 * /proc/<pid>/ns/* are). A bind mount of a namespace file (/var/run/netns/x) is named by its path instead, so
 * there only the worker's check, just before it wires, can refuse one of another type; the identity check, the
 * one that keeps the host's own namespace out, is the same on both threads.
 */
export class NetnsGuard {
  private readonly forbidden: Identity[];
  /** The device of nsfs, the one internal file system every namespace file lives on. */
  private readonly nsfsDev: number;

  /** `ownNsFd`: the calling thread's own namespace; default: /proc/thread-self/ns/net. */
  constructor(
    ownNsFd?: number,
    private readonly nsType?: (fd: number) => { type: number; errno?: number },
  ) {
    const own = ownNsFd === undefined ? fs.statSync('/proc/thread-self/ns/net') : fs.fstatSync(ownNsFd);
    this.nsfsDev = own.dev;
    this.forbidden = [];
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
    // Last: it is the process's namespace too, unless a setns left this thread elsewhere.
    this.forbidden.push({ dev: own.dev, ino: own.ino, what: "this ipamd thread's namespace" });
  }

  /** Throws {@link NetnsRefusal} unless `fd` (opened from `path`) is a network namespace that is not ours. */
  check(fd: number, path: string): void {
    const s = fs.fstatSync(fd);
    const why = this.nsType ? this.byIoctl(fd) : this.byName(fd, s);
    if (why) throw new NetnsRefusal(`${path} is not a network namespace (${why})`);
    const hit = this.forbidden.find((f) => f.dev === s.dev && f.ino === s.ino);
    if (hit) throw new NetnsRefusal(`refusing to wire ${path}: it is ${hit.what}, not a Pod's (net:[${s.ino}])`);
  }

  private byIoctl(fd: number): string | undefined {
    const { type, errno } = this.nsType!(fd);
    if (type === CLONE_NEWNET) return undefined;
    return type < 0 ? `errno ${errno}` : String(type);
  }

  private byName(fd: number, s: fs.Stats): string | undefined {
    if (s.dev !== this.nsfsDev) return 'not on nsfs';
    const name = fs.readlinkSync(`/proc/self/fd/${fd}`);
    const m = /^([a-z_]+):\[(\d+)\]$/.exec(name);
    return m && m[1] !== 'net' ? name : undefined;
  }
}

/** Opens `path`, checks it with `guard` and closes it again: throws NetnsRefusal, or the open's Error. */
export function vetNetnsPath(guard: NetnsGuard, path: string): void {
  const fd = openNetnsPath(path);
  try {
    guard.check(fd, path);
  } finally {
    fs.closeSync(fd);
  }
}
