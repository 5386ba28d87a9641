/**
 * @module plumbing worker thread
 * Entry point of the one worker thread that touches Pod network namespaces.
 * setns(2) changes the namespace of the calling *thread*; doing it here keeps
 * the daemon's main thread (and libuv's pool threads) in the host netns
 * forever. See README.md in this folder for the full hazard note.
 *
 * Messages: `{ id, op: 'setUp'|'tearDown'|'check'|'ping', w }` or
 * `{ id, op: 'setUpInterface'|'tearDownInterface', i }` in,
 * `{ id, ok: true, value }` or `{ id, ok: false, error: { message, step?, errno? } }` out.
 */

import * as fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import koffi from 'koffi';
import type { PodWiring } from './plumber.js';
import { hostVethName } from './plumber.js';
import { tearDownHostSide } from './host-teardown.js';
import { NetlinkStepError, createRtNetlink, type RtSocket } from './netlink-ops.js';
import { checkPod, wirePod, type WiringContext } from './pod-wiring.js';
import { setUpHostInterface, tearDownHostInterface, type HostInterfaceSpec } from './host-interface.js';

export type WorkerOp = 'setUp' | 'tearDown' | 'check' | 'ping' | 'setUpInterface' | 'tearDownInterface';
export interface WorkerJob {
  id: number;
  op: WorkerOp;
  w?: PodWiring;
  /** Host interface jobs (host netns only: they never enter the setns window). */
  i?: HostInterfaceSpec;
}
export type WorkerReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { message: string; step?: string; errno?: string } };

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
      return createRtNetlink();
    } finally {
      setns(hostNsFd);
    }
  };

  port.on('message', (job: WorkerJob) => {
    // One host socket per job: netlink 0.3.0 mixes up concurrent multipart
    // dumps on a shared socket ("Multipart message not terminated properly"),
    // and a socket costs ~0.25 ms.
    const ctx: WiringContext = { host: createRtNetlink(), openIn };
    void run(ctx, job)
      .finally(() => ctx.host.socket.close())
      .then(
        (value) => port.postMessage({ id: job.id, ok: true, value } satisfies WorkerReply),
        (err: unknown) => port.postMessage({ id: job.id, ok: false, error: describe(err) } satisfies WorkerReply),
      );
  });
  port.on('close', () => fs.closeSync(hostNsFd));
}

async function run(ctx: WiringContext, job: WorkerJob): Promise<unknown> {
  switch (job.op) {
    case 'setUp':
      return wirePod(ctx, job.w!);
    case 'check':
      return checkPod(ctx, job.w!);
    case 'ping':
      return true;
    case 'setUpInterface':
      return setUpHostInterface(ctx.host, job.i!);
    case 'tearDownInterface':
      return tearDownHostInterface(ctx.host, job.i!);
    case 'tearDown':
      // ipamd vouches for the address (it is still assigned to this attachment).
      return tearDownHostSide(
        { hostIf: hostVethName(job.w!.containerId, job.w!.ifName), ...(job.w!.ip ? { ip: job.w!.ip, ownsAddress: true } : {}) },
        ctx.host,
      );
  }
}

function describe(err: unknown): { message: string; step?: string; errno?: string } {
  if (err instanceof NetlinkStepError) return { message: err.message, step: err.step, ...(err.errno ? { errno: err.errno } : {}) };
  return { message: err instanceof Error ? err.message : String(err) };
}

main();
