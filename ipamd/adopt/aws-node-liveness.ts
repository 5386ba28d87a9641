/**
 * @module is aws-node still running?
 * Adoption must not read aws-node's checkpoint while aws-node can still change it: an ADD it answers after our
 * read would give a Pod an address we then hand out again. When a node is handed over, the DaemonSet controller
 * deletes aws-node's Pod and starts ours at the same time, so ours waits (bounded) until aws-node's ipamd stops
 * answering: its gRPC socket `ipamd.sock` beside the checkpoint (v1.23+, #3739) or, before, TCP 127.0.0.1:50051.
 * A file left behind by a dead aws-node refuses connections, which is "gone". Still answering after the wait:
 * refused, and the kubelet restarts us.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import type { Clock } from '../util/clock.js';
import { AdoptionRefusedError } from './errors.js';

/** The address that answered, or undefined when none did. */
export type AwsNodeProbe = () => Promise<string | undefined>;

const CONNECT_TIMEOUT_MS = 1000;
const POLL_MS = 1000;

function answers(target: net.NetConnectOpts, name: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = net.connect(target);
    const done = (v: string | undefined) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(CONNECT_TIMEOUT_MS, () => done(undefined));
    s.once('connect', () => done(name));
    s.once('error', () => done(undefined));
  });
}

/** aws-node's ipamd endpoints, for the checkpoint at `checkpointFile`. */
export function awsNodeProbe(checkpointFile: string): AwsNodeProbe {
  const sock = path.join(path.dirname(checkpointFile), 'ipamd.sock');
  return async () =>
    (await answers({ path: sock }, sock)) ?? (await answers({ host: '127.0.0.1', port: 50051 }, '127.0.0.1:50051'));
}

/** Resolves once aws-node does not answer; throws AdoptionRefusedError if it still does after `waitMs`. */
export async function waitForAwsNodeGone(probe: AwsNodeProbe, clock: Clock, waitMs: number): Promise<void> {
  const deadline = clock.now() + waitMs;
  for (;;) {
    const alive = await probe();
    if (!alive) return;
    if (clock.now() >= deadline) {
      const detail = `aws-node still answers after ${waitMs / 1000} s; it must stop before its Pods are adopted`;
      throw new AdoptionRefusedError('aws-node-running', alive, detail);
    }
    await clock.sleep(POLL_MS);
  }
}
