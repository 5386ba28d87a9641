/**
 * @module netlink plumber (main-thread side)
 * The real {@link PodNetworkPlumber}: validates each request, then hands it to the single plumbing worker thread
 * (netlink-worker.ts), which does the setns and netlink work. The daemon's main thread never changes namespace.
 *
 * Concurrency: jobs for the same attachment (same host veth name) run one after another; different Pods run
 * concurrently in the worker, up to `maxInFlight` (the kernel's rtnl lock serialises most of the work anyway).
 *
 * Host interface links (setUpInterface/tearDownInterface) need no setns, yet they run on the same worker: the
 * main thread then does no netlink I/O at all (netlink 0.3.0 calls can hang; here the job timeout bounds them),
 * and jobs for one route table are serialised like those of one Pod.
 */

import { Worker } from 'node:worker_threads';
import { NetnsError, NetnsRefusedError } from '../../providers/errors.js';
import { SystemClock, type Clock } from '../util/clock.js';
import { HOST_VETH_NAME_RE, hostVethName } from '../../cni/contract/veth-name.js';
import {
  type HostInterface,
  type KeptLink,
  type NodeRouting,
  type NodeRoutingResult,
  type PodNetworkPlumber,
  type PodRules,
  type PodUnwiring,
  type PodWiring,
  type WiredPod,
} from './plumber.js';
import { validateNodeRouting } from './node-routing.js';
import { NetnsGuard, NetnsRefusal, vetNetnsPath } from './netns-guard.js';
import type { WorkerJob, WorkerOp, WorkerReply } from './netlink-worker.js';
import { checkDeviceIndex, routeTableFor, validateHostInterface, type HostInterfaceResult } from './host-interface.js';
import { isIPv4 } from '../../cni/contract/netlink-ops.js';
import { Address4 } from 'ip-address';
import { containerIdIssue, ifNameIssue } from '../../cni/contract/identifiers.js';

export interface NetlinkPlumberOptions {
  /**
   * Where the worker entry lives. Defaults to netlink-worker.{js,ts} beside this module; a daemon bundled
   * into one file must ship the worker as its own bundle and pass its URL here.
   */
  workerUrl?: URL;
  /** Jobs running at once in the worker (default 8). */
  maxInFlight?: number;
  /** A job that has not answered by then is failed (default 30 s; every netlink call has its own 2 s timeout). */
  jobTimeoutMs?: number;
  clock?: Clock;
}

/** `WiredPod` plus the host veth MAC, which the plugin reports in its CNI result. */
export interface WiredPodWithHostMac extends WiredPod {
  hostMac: string;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: AbortController;
}

/** Defence in depth: the socket server validated already, but this is where paths meet the kernel. */
export function validateWiring(w: Partial<PodWiring & PodUnwiring>, needNetns: boolean, ipOptional = false): void {
  const bad = (m: string): never => {
    throw new NetnsError(`invalid wiring request: ${m}`);
  };
  // The socket's rules (api/identifiers.ts), so nothing ipamd accepted is refused here, or the reverse.
  const id = containerIdIssue(w.containerId) ?? ifNameIssue(w.ifName);
  if (id) bad(`${id.kind}: ${id.message}`);
  // DEL of an attachment ipamd does not know arrives without an address: the
  // veth can still be found by name, only the rule cannot.
  const noIp = ipOptional && (w.ip === undefined || w.ip === '');
  if (!noIp && (typeof w.ip !== 'string' || !isIPv4(w.ip))) bad('ip');
  if (needNetns && (typeof w.netnsPath !== 'string' || !w.netnsPath.startsWith('/'))) bad('netnsPath must be absolute');
  if (w.mtu !== undefined && (!Number.isInteger(w.mtu) || w.mtu < 576 || w.mtu > 65535)) bad('mtu');
  const t = w.routeTable;
  if (t !== undefined && (!Number.isInteger(t) || t < 0 || t > 0x7fffffff || t === 253 || t === 255)) bad('routeTable');
  const issue = cidrListIssue(w.tableDestinations);
  if (issue) bad(`tableDestinations: ${issue}`);
  if (w.hostIf !== undefined && (typeof w.hostIf !== 'string' || !HOST_VETH_NAME_RE.test(w.hostIf))) bad('hostIf');
  const sfx = suffixesIssue(w.formerSuffixes);
  if (sfx) bad(sfx);
}

/** `hostVethSuffixes` output only: at most two suffixes of 11 hex. */
function suffixesIssue(sfx: unknown): string | undefined {
  if (sfx === undefined) return undefined;
  const ok =
    Array.isArray(sfx) && sfx.length <= 2 && sfx.every((x) => typeof x === 'string' && /^[0-9a-f]{11}$/.test(x));
  return ok ? undefined : 'formerSuffixes';
}

/** Rule destinations reach the kernel: IPv4 CIDRs only, and a bounded number of them. */
export function cidrListIssue(list: unknown): string | undefined {
  if (list === undefined) return undefined;
  if (!Array.isArray(list) || list.length > 64) return 'must be a list of at most 64 IPv4 CIDRs';
  const bad = list.find((c) => typeof c !== 'string' || !/^[0-9.]+\/\d{1,2}$/.test(c) || !Address4.isValid(c));
  return bad === undefined ? undefined : `${JSON.stringify(bad)} is not an IPv4 CIDR`;
}

/** Liveness ping budget: well above a netlink job (ms), well under the probe's timeout (10 s). */
const ALIVE_TIMEOUT_MS = 5_000;

export class NetlinkPlumber implements PodNetworkPlumber {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly perKey = new Map<string, Promise<unknown>>();
  private closed = false;
  private readonly workerUrl: URL;
  private readonly maxInFlight: number;
  private readonly jobTimeoutMs: number;
  private readonly clock: Clock;
  private guard: NetnsGuard | undefined;

  constructor(opts: NetlinkPlumberOptions = {}) {
    const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
    this.workerUrl = opts.workerUrl ?? new URL(`./netlink-worker.${ext}`, import.meta.url);
    this.maxInFlight = opts.maxInFlight ?? 8;
    this.jobTimeoutMs = opts.jobTimeoutMs ?? 30_000;
    this.clock = opts.clock ?? new SystemClock();
  }

  async setUp(w: PodWiring): Promise<WiredPodWithHostMac> {
    validateWiring(w, true);
    return (await this.submit('setUp', w)) as WiredPodWithHostMac;
  }

  /** Idempotent; `ip` may be empty when ipamd has no record (then only the veth is looked for). */
  async tearDown(w: PodUnwiring): Promise<{ keptLink?: KeptLink }> {
    validateWiring(w, false, true);
    const r = (await this.submit('tearDown', { ...w, netnsPath: w.netnsPath ?? '', mtu: 0 })) as {
      keptLink?: KeptLink;
    };
    return r?.keptLink ? { keptLink: r.keptLink } : {};
  }

  async deleteKeptLink(k: KeptLink): Promise<boolean> {
    if (!Number.isInteger(k.index) || k.index < 1 || !HOST_VETH_NAME_RE.test(k.name)) {
      throw new NetnsError('invalid kept link');
    }
    const link = { index: k.index, name: k.name };
    return (await this.enqueue(k.name, () => this.post('deleteKeptLink', { k: link }, k.name))) as boolean;
  }

  async check(w: PodWiring): Promise<void> {
    validateWiring(w, true);
    await this.submit('check', w);
  }

  /**
   * Refuses (NetnsRefusedError) a path that is not a network namespace, or the host's or ipamd's own. Here, on
   * the main thread (open, ioctl, fstat; no setns): cheaper than a worker round trip. The worker checks again.
   */
  async vetNetns(netnsPath: string): Promise<void> {
    if (typeof netnsPath !== 'string' || !netnsPath.startsWith('/'))
      throw new NetnsError('invalid netns path: must be absolute');
    if (this.closed) throw new NetnsError('plumber closed');
    this.guard ??= new NetnsGuard();
    try {
      vetNetnsPath(this.guard, netnsPath);
    } catch (err) {
      if (err instanceof NetnsRefusal) throw new NetnsRefusedError(err.message);
      throw new NetnsError((err as Error).message, { cause: err });
    }
  }

  /** Configures the host link of a secondary interface (host-interface.ts). */
  async setUpInterface(i: HostInterface): Promise<'configured' | 'absent'> {
    return (await this.configureInterface(i)).state;
  }

  /**
   * {@link setUpInterface} with the details: link name, table, gateway, and what changed (empty = it was already
   * right).
   */
  async configureInterface(i: HostInterface): Promise<HostInterfaceResult> {
    const spec = validateHostInterface(i);
    const key = `table:${routeTableFor(spec.deviceIndex)}`;
    return (await this.enqueue(key, () =>
      this.post('setUpInterface', { i: spec }, `${spec.mac} (table ${routeTableFor(spec.deviceIndex)})`),
    )) as HostInterfaceResult;
  }

  /** Empties route table deviceIndex + 1. Idempotent. */
  async tearDownInterface(i: { deviceIndex: number }): Promise<void> {
    checkDeviceIndex(i.deviceIndex); // the worker checks again; this fails fast without a round trip
    const table = routeTableFor(i.deviceIndex);
    await this.enqueue(`table:${table}`, () =>
      this.post('tearDownInterface', { i: { deviceIndex: i.deviceIndex } as WorkerJob['i'] }, `table ${table}`),
    );
  }

  /** Checks (and with `repair`, rewrites) the policy rules of assigned addresses from one rule dump. */
  async podRules(rules: PodRules[], repair: boolean): Promise<Array<{ ip: string; problems: string[] }>> {
    for (const r of rules) {
      const badIf =
        (r.hostIf !== undefined && !HOST_VETH_NAME_RE.test(r.hostIf)) || suffixesIssue(r.formerSuffixes) !== undefined;
      const issue = !isIPv4(r.ip)
        ? `ip ${JSON.stringify(r.ip)}`
        : badIf
          ? `hostIf ${JSON.stringify(r.hostIf)}`
          : cidrListIssue(r.tableDestinations);
      if (issue || !Number.isInteger(r.routeTable) || r.routeTable < 0) {
        throw new NetnsError(`invalid rule request: ${issue ?? `routeTable ${r.routeTable}`}`);
      }
    }
    if (rules.length === 0) return [];
    return (await this.enqueue('rules', () =>
      this.post('podRules', { r: { rules, repair } }, `${rules.length} addresses`),
    )) as Array<{
      ip: string;
      problems: string[];
    }>;
  }

  /** The fwmark rule at 1024 and the primary interface's link name (node-routing.ts). */
  async setUpNodeRouting(n: NodeRouting): Promise<NodeRoutingResult> {
    const req = validateNodeRouting(n);
    return (await this.enqueue('node', () =>
      this.post('setUpNodeRouting', { n: req }, 'node routing'),
    )) as NodeRoutingResult;
  }

  async checkNodeRouting(n: NodeRouting): Promise<string[]> {
    const req = validateNodeRouting(n);
    return (await this.enqueue('node', () => this.post('checkNodeRouting', { n: req }, 'node routing'))) as string[];
  }

  async tearDownNodeRouting(): Promise<void> {
    await this.enqueue('node', () => this.post('tearDownNodeRouting', {}, 'node routing'));
  }

  /**
   * Liveness: the worker answers a ping within ALIVE_TIMEOUT_MS. Netlink jobs run on the worker one at a
   * time, so a job stuck in the kernel (or a dead worker) makes this fail; a restart of ipamd fixes that.
   */
  async alive(): Promise<string | undefined> {
    if (this.closed) return 'plumber closed';
    const timer = new AbortController();
    const late = this.clock.sleep(ALIVE_TIMEOUT_MS, timer.signal).then(
      () => `netlink worker did not answer a ping in ${ALIVE_TIMEOUT_MS} ms`,
      () => undefined,
    );
    const ping = this.post('ping', {}, 'liveness').then(
      () => undefined,
      (err: Error) => `netlink worker: ${err.message}`,
    );
    const why = await Promise.race([ping, late]);
    timer.abort();
    return why;
  }

  /** Starts the worker and waits until it answers, so the first Pod does not pay for it. Optional. */
  async warmUp(): Promise<void> {
    if (this.closed) throw new NetnsError('plumber closed');
    await this.post('ping', {}, '');
  }

  /**
   * Lets jobs in flight finish (each is bounded by its job timeout), then asks
   * the worker to end by itself; terminate() is only the fallback for a
   * worker that does not answer.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.perKey.values()]);
    const w = this.worker;
    if (!w) return;
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    const asked = this.post('shutdown', {}, '').catch(() => undefined);
    const timer = new AbortController();
    const late = this.clock.sleep(5_000, timer.signal).then(
      () => 'late' as const,
      () => 'exited' as const,
    );
    const outcome = await Promise.race([asked.then(() => exited).then(() => 'exited' as const), late]);
    timer.abort();
    this.worker = undefined;
    this.failAll(new NetnsError('plumber closed'));
    if (outcome === 'late') await w.terminate();
  }

  /** Serialises per attachment, bounds concurrency, then posts to the worker. */
  private submit(op: WorkerOp, w: PodWiring): Promise<unknown> {
    return this.enqueue(hostVethName(w.containerId, w.ifName), () =>
      this.post(op, { w }, `${w.containerId}/${w.ifName}`),
    );
  }

  /** Runs `fn` after earlier jobs with the same key, within the concurrency bound. */
  private enqueue(key: string, fn: () => Promise<unknown>): Promise<unknown> {
    if (this.closed) return Promise.reject(new NetnsError('plumber closed'));
    const prev = this.perKey.get(key) ?? Promise.resolve();
    const job = prev.catch(() => undefined).then(() => this.withSlot(fn));
    this.perKey.set(key, job);
    const forget = () => {
      if (this.perKey.get(key) === job) this.perKey.delete(key);
    };
    job.then(forget, forget);
    return job;
  }

  private async withSlot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.maxInFlight) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  private post(op: WorkerOp, payload: Pick<WorkerJob, 'w' | 'i' | 'r' | 'n' | 'k'>, label: string): Promise<unknown> {
    if (op !== 'shutdown' && this.closed && !this.worker) return Promise.reject(new NetnsError('plumber closed'));
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = new AbortController();
      this.clock.sleep(this.jobTimeoutMs, timer.signal).then(
        () => {
          this.pending.delete(id);
          reject(new NetnsError(`${op} ${label}: no answer from the plumbing worker in ${this.jobTimeoutMs} ms`));
        },
        () => undefined, // aborted: the worker answered
      );
      this.pending.set(id, { resolve, reject, timer });
      worker.postMessage({ id, op, ...payload } satisfies WorkerJob);
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = this.workerUrl.pathname.endsWith('.ts')
      ? // Running from source (tsx, vitest): workers do not inherit the
        // loader hooks on Node 20, so register tsx inside the worker first.
        new Worker(
          `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(this.workerUrl.href)}); })`,
          {
            eval: true,
            execArgv: [],
          },
        )
      : new Worker(this.workerUrl);
    // The daemon's lifetime is governed by its servers, not by this thread.
    worker.unref();
    worker.on('message', (r: WorkerReply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      p.timer.abort();
      if (r.ok) p.resolve(r.value);
      else if (r.error.code === 'NETNS_REFUSED') p.reject(new NetnsRefusedError(r.error.message));
      else p.reject(new NetnsError(r.error.message, { cause: r.error }));
    });
    const onDeath = (why: string) => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(new NetnsError(`plumbing worker ${why}`));
    };
    worker.on('error', (err) => onDeath(`failed: ${err.message}`));
    worker.on('exit', (code) => onDeath(`exited with code ${code}`));
    this.worker = worker;
    return worker;
  }

  private failAll(err: NetnsError): void {
    for (const [id, p] of this.pending) {
      p.timer.abort();
      p.reject(err);
      this.pending.delete(id);
    }
  }
}

/** Minimal logger shape (pino-style) so this module does not depend on the daemon's logger. */
export interface PlumberLog {
  info(o: object, msg?: string): void;
}

/**
 * Builds a {@link NetlinkPlumber} and waits for its worker to answer, so a
 * broken environment (no koffi, no libc setns, not root) fails at daemon start
 * rather than on the first Pod. The caller falls back to address-only mode.
 */
export async function createNetlinkPlumber(
  opts: NetlinkPlumberOptions & { log?: PlumberLog } = {},
): Promise<NetlinkPlumber> {
  const p = new NetlinkPlumber(opts);
  try {
    await p.warmUp();
  } catch (err) {
    await p.close();
    throw err;
  }
  opts.log?.info({ worker: 'netlink' }, 'Pod network plumbing ready (netlink worker thread)');
  return p;
}
