/**
 * @module plumbing worker thread
 * Entry point of the one worker thread that touches Pod network namespaces.
 * setns(2) changes the namespace of the calling *thread*; doing it here keeps
 * the daemon's main thread (and libuv's pool threads) in the host netns
 * forever. See README.md in this folder for the full hazard note.
 *
 * Messages: `{ id, op: 'setUp'|'tearDown'|'check'|'ping', w }`, `{ id, op: 'deleteKeptLink', k }`,
 * `{ id, op: 'setUpInterface'|'tearDownInterface', i }`, `{ id, op: 'podRules', r }`,
 * `{ id, op: 'setUpNodeRouting'|'checkNodeRouting'|'tearDownNodeRouting', n }` or `{ id, op: 'shutdown' }` in,
 * `{ id, ok: true, value }` or `{ id, ok: false, error: { message, step?, errno?, code? } }` out.
 *
 * Netlink goes through the synchronous transport (sync-netlink.ts): no native
 * handle of this thread ever calls into JavaScript, so neither a failing
 * kernel call nor the thread's shutdown can abort the process.
 */

import * as fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import koffi from 'koffi';
import { HOST_VETH_NAME_RE } from '../../cni/contract/veth-name.js';
import {
  hostIfOf,
  type KeptLink,
  type NodeRouting,
  type PodRules,
  type PodUnwiring,
  type PodWiring,
} from './plumber.js';
import { deleteKeptLink, tearDownHostSide } from './host-teardown.js';
import { NetlinkStepError, OPTS, type RtSocket } from '../../cni/contract/netlink-ops.js';
import { NetnsGuard, NetnsRefusal, NS_GET_NSTYPE } from './netns-guard.js';
import { checkPod, podRuleSpec, wirePod, type WiringContext } from './pod-wiring.js';
import { podRulesPass } from './policy-rules.js';
import { checkNodeRouting, setUpNodeRouting, tearDownNodeRouting } from './node-routing.js';
import { createSyncRtNetlink } from './sync-netlink.js';
import { setUpHostInterface, tearDownHostInterface, type HostInterfaceSpec } from './host-interface.js';

export type WorkerOp =
  | 'setUp'
  | 'tearDown'
  | 'deleteKeptLink'
  | 'check'
  | 'ping'
  | 'setUpInterface'
  | 'tearDownInterface'
  | 'podRules'
  | 'setUpNodeRouting'
  | 'checkNodeRouting'
  | 'tearDownNodeRouting'
  | 'shutdown';
export interface WorkerJob {
  id: number;
  op: WorkerOp;
  w?: Partial<PodWiring & PodUnwiring>;
  /** Host interface jobs (host netns only: they never enter the setns window). */
  i?: HostInterfaceSpec;
  r?: { rules: PodRules[]; repair: boolean };
  n?: NodeRouting;
  k?: KeptLink;
}
export type WorkerReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: WorkerError };
export interface WorkerError {
  message: string;
  step?: string;
  errno?: string;
  /** 'NETNS_REFUSED': the target namespace is the host's or ipamd's own. */
  code?: string;
}

const CLONE_NEWNET = 0x40000000;

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('netlink-worker must run as a worker thread');
  const setnsC = koffi.load('libc.so.6').func('int setns(int fd, int nstype)') as (fd: number, type: number) => number;
  const setns = (fd: number): void => {
    if (setnsC(fd, CLONE_NEWNET) !== 0) throw new Error(`setns: errno ${koffi.errno()}`);
  };
  // thread-self, not self: the thread's own namespace is what setns changes.
  const hostNsFd = fs.openSync('/proc/thread-self/ns/net', 'r');
  const openIn = (nsFd: number): RtSocket => {
    // setns → socket() → setns back is synchronous: no other job can run in
    // between, and a socket stays bound to the netns it was created in.
    setns(nsFd);
    try {
      return createSyncRtNetlink();
    } finally {
      setns(hostNsFd);
    }
  };
  const ioctl = koffi.load('libc.so.6').func('int ioctl(int fd, unsigned long request)') as (
    fd: number,
    req: number,
  ) => number;
  const guard = new NetnsGuard(hostNsFd, (fd) => {
    const type = ioctl(fd, NS_GET_NSTYPE);
    return type < 0 ? { type, errno: koffi.errno() } : { type };
  });
  const vet = (fd: number, path: string) => guard.check(fd, path);

  port.on('message', (job: WorkerJob) => {
    if (job.op === 'shutdown') {
      // Every job has answered (the plumber waits for them): let the thread end by itself.
      fs.closeSync(hostNsFd);
      port.postMessage({ id: job.id, ok: true, value: true } satisfies WorkerReply);
      port.close();
      return;
    }
    let ctx: WiringContext;
    try {
      // One host socket per job keeps concurrent jobs' answers apart; a socket costs ~0.05 ms.
      ctx = { host: createSyncRtNetlink(), openIn, vet };
    } catch (err) {
      port.postMessage({ id: job.id, ok: false, error: describe(err) } satisfies WorkerReply);
      return;
    }
    void run(ctx, job)
      .finally(() => ctx.host.socket.close())
      .then(
        (value) => port.postMessage({ id: job.id, ok: true, value } satisfies WorkerReply),
        (err: unknown) => port.postMessage({ id: job.id, ok: false, error: describe(err) } satisfies WorkerReply),
      );
  });
}

async function run(ctx: WiringContext, job: WorkerJob): Promise<unknown> {
  switch (job.op) {
    case 'setUp':
      return wirePod(ctx, job.w as PodWiring);
    case 'check':
      return checkPod(ctx, job.w as PodWiring);
    case 'ping':
    case 'shutdown':
      return true;
    case 'setUpInterface':
      return setUpHostInterface(ctx.host, job.i!);
    case 'tearDownInterface':
      return tearDownHostInterface(ctx.host, job.i!);
    case 'podRules': {
      // Only Pods that were wired: an address handed out without a netns has no rules to keep.
      const names = (await ctx.host.getLinks({}, {}, OPTS)).map((m) => m.attrs.ifname ?? '');
      const links = new Set(names);
      const veths = names.filter((n) => HOST_VETH_NAME_RE.test(n));
      const former = (r: PodRules) => !!r.formerSuffixes?.some((x) => veths.some((n) => n.endsWith(x)));
      const wired = job.r!.rules.filter((r) => !r.hostIf || links.has(r.hostIf) || former(r));
      return podRulesPass(ctx.host, wired.map(podRuleSpec), job.r!.repair);
    }
    case 'setUpNodeRouting':
      return setUpNodeRouting(ctx.host, job.n!);
    case 'checkNodeRouting':
      return checkNodeRouting(ctx.host, job.n!);
    case 'tearDownNodeRouting':
      return tearDownNodeRouting(ctx.host);
    case 'tearDown': {
      const w = job.w as PodUnwiring;
      // ipamd vouches for the address (it is still assigned to this attachment).
      const target = {
        hostIf: hostIfOf(w),
        ...(w.ip ? { ip: w.ip, ownsAddress: true } : {}),
        ...(w.podNamed ? { podNamed: true } : {}),
        ...(w.formerSuffixes ? { formerSuffixes: w.formerSuffixes } : {}),
        ...(w.keepLink ? { keepLink: true } : {}),
      };
      return tearDownHostSide(target, ctx.host);
    }
    case 'deleteKeptLink':
      return deleteKeptLink(job.k!, ctx.host);
  }
}

function describe(err: unknown): WorkerError {
  if (err instanceof NetlinkStepError)
    return { message: err.message, step: err.step, ...(err.errno ? { errno: err.errno } : {}) };
  if (err instanceof NetnsRefusal) return { message: err.message, code: err.code };
  return { message: err instanceof Error ? err.message : String(err) };
}

main();
