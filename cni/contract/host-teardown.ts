/**
 * @module host-side teardown
 * Removes the host half of a Pod's wiring (host veth, which takes the Pod end
 * and the /32 host route with it, plus the Pod's policy rules at 512 and 1536) from
 * the caller's own network namespace. No setns, no worker, no koffi: the CNI
 * plugin imports this lazily for its offline DEL (ipamd unreachable), and the
 * plumbing worker reuses it for the normal DEL (through ipamd/netns/host-teardown.ts,
 * which reports failures as the daemon's NetnsError). In the contract so that
 * both DELs are the same code.
 */

import {
  NetlinkStepError,
  createRtNetlink,
  deleteHostRoute,
  findLink,
  isIPv4,
  step,
  type RtSocket,
} from './netlink-ops.js';
import { deletePodRules } from './pod-rules.js';

/** A teardown that was refused or left something behind; the message says what. */
export class HostTeardownError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostTeardownError';
  }
}

/** Names made by `hostVethName`: nothing else may be deleted through this path. */
const HOST_VETH_RE = /^vpc[0-9a-f]{11}$/;

export interface HostSideTarget {
  /** Host veth name, from `hostVethName(containerId, ifName)`. */
  hostIf: string;
  /** Pod address without prefix; when known, its policy rules are removed too. */
  ip?: string;
  /**
   * Delete the `from <ip>` rule even when the veth was already gone. Only the
   * daemon may say so: it knows the address still belongs to this attachment.
   * Offline callers leave it unset, because a second DEL for an old Pod must
   * not remove the rule of a newer Pod that reuses the address.
   */
  ownsAddress?: boolean;
}

export interface HostTeardownResult {
  linkDeleted: boolean;
  rulesDeleted: number;
}

/**
 * Idempotent: a missing link or rule is success. Errors other than "already
 * gone" are collected and thrown together as one {@link HostTeardownError} after
 * every step has been tried, so one failure does not leave the rest behind.
 */
export async function tearDownHostSide(t: HostSideTarget, socket?: RtSocket): Promise<HostTeardownResult> {
  if (!HOST_VETH_RE.test(t.hostIf)) {
    throw new HostTeardownError(`refusing to delete link ${JSON.stringify(t.hostIf)}: not a vpc-ipam host veth name`);
  }
  if (t.ip !== undefined && !isIPv4(t.ip)) throw new HostTeardownError(`invalid Pod address ${JSON.stringify(t.ip)}`);
  const s = socket ?? createRtNetlink();
  const problems: string[] = [];
  const result: HostTeardownResult = { linkDeleted: false, rulesDeleted: 0 };
  try {
    let link: Awaited<ReturnType<typeof findLink>>;
    try {
      link = await step(`look up host veth ${t.hostIf}`, () => findLink(s, t.hostIf));
    } catch (err) {
      problems.push((err as Error).message);
    }
    if (link) {
      try {
        await step(`delete host veth ${t.hostIf}`, () => s.delLink({ index: link!.index }, {}, { timeout: 2000 }));
        result.linkDeleted = true;
      } catch (err) {
        const gone = err instanceof NetlinkStepError && (err.errno === 'ENODEV' || err.errno === 'ENOENT');
        if (!gone) problems.push((err as Error).message);
      }
      // The kernel drops routes with their device; this only catches a route
      // left by a failed delete above.
      if (t.ip && !result.linkDeleted) {
        await step(`delete host route ${t.ip}/32`, () => deleteHostRoute(s, t.ip!, link!.index)).catch((e: Error) =>
          problems.push(e.message),
        );
      }
    }
    if (t.ip && (link || t.ownsAddress)) {
      try {
        result.rulesDeleted = await step(`delete rules of ${t.ip}`, () => deletePodRules(s, t.ip!));
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
  } finally {
    if (!socket) s.socket.close();
  }
  if (problems.length) throw new HostTeardownError(`host teardown of ${t.hostIf}: ${problems.join('; ')}`);
  return result;
}
