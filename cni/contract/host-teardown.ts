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
  listRoutes,
  OPTS,
  step,
  type RtSocket,
} from './netlink-ops.js';
import { deletePodRules } from './pod-rules.js';
import { HOST_VETH_NAME_RE } from './veth-name.js';

/** A teardown that was refused or left something behind; the message says what. */
export class HostTeardownError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostTeardownError';
  }
}

export interface HostSideTarget {
  /**
   * Host veth name, from `hostVethNameFor` (cni/contract/veth-name.ts): a name of `HOST_VETH_NAME_RE` (any valid
   * prefix), so nothing else may be deleted through this path.
   */
  hostIf: string;
  /**
   * `hostIf` is named after the Pod (AWS naming), which an older sandbox of a same-named Pod shares: then, as for
   * a veth found by {@link formerSuffixes}, the link is deleted only when it routes `ip` (the address this
   * attachment holds), and without `ip` it is left to the kernel, which deletes it with the Pod's namespace.
   */
  podNamed?: boolean;
  /**
   * The suffixes of `hostVethSuffixes`: when no link is named `hostIf`, the veth named by one of them under
   * another prefix (a Pod wired before AWS_VPC_K8S_CNI_VETHPREFIX changed) is torn down instead.
   */
  formerSuffixes?: string[];
  /** Pod address without prefix; when known, its policy rules are removed too. */
  ip?: string;
  /**
   * Delete the `from <ip>` rule even when the veth was already gone. Only the
   * daemon may say so: it knows the address still belongs to this attachment.
   * Offline callers leave it unset, because a second DEL for an old Pod must
   * not remove the rule of a newer Pod that reuses the address.
   */
  ownsAddress?: boolean;
  /**
   * Leave the veth itself, removing only its /32 host route (and the rules): deleting a link costs the kernel
   * ~20 ms (synchronize_net), and the runtime's deletion of the Pod's namespace destroys the pair anyway, as
   * the AWS VPC CNI relies on. The daemon's DEL sets it and deletes a link that outlives the namespace later
   * ({@link HostTeardownResult.keptLink}); the plugin's offline DEL never does.
   */
  keepLink?: boolean;
}

export interface HostTeardownResult {
  linkDeleted: boolean;
  rulesDeleted: number;
  /** With `keepLink`: the veth left in place (its index identifies this very link, whatever its name later). */
  keptLink?: { index: number; name: string };
}

/**
 * Idempotent: a missing link or rule is success. Errors other than "already
 * gone" are collected and thrown together as one {@link HostTeardownError} after
 * every step has been tried, so one failure does not leave the rest behind.
 */
export async function tearDownHostSide(t: HostSideTarget, socket?: RtSocket): Promise<HostTeardownResult> {
  if (!HOST_VETH_NAME_RE.test(t.hostIf)) {
    throw new HostTeardownError(`refusing to delete link ${JSON.stringify(t.hostIf)}: not a vpc-ipam host veth name`);
  }
  if (t.ip !== undefined && !isIPv4(t.ip)) throw new HostTeardownError(`invalid Pod address ${JSON.stringify(t.ip)}`);
  const s = socket ?? createRtNetlink();
  const problems: string[] = [];
  const result: HostTeardownResult = { linkDeleted: false, rulesDeleted: 0 };
  try {
    let link: FoundVeth | undefined;
    try {
      link = await findOwnVeth(s, t);
    } catch (err) {
      problems.push((err as Error).message);
    }
    if (link && t.keepLink) {
      if (t.ip) {
        await step(`delete host route ${t.ip}/32`, () => deleteHostRoute(s, t.ip!, link!.index)).catch((e: Error) =>
          problems.push(e.message),
        );
      }
      result.keptLink = { index: link.index, name: link.name };
    } else if (link) {
      try {
        await step(`delete host veth ${link.name}`, () => s.delLink({ index: link!.index }, {}, { timeout: 2000 }));
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

type FoundVeth = NonNullable<Awaited<ReturnType<typeof findLink>>> & { name: string };

/** The veth this target may delete (see {@link HostSideTarget}); undefined when there is none. */
async function findOwnVeth(s: RtSocket, t: HostSideTarget): Promise<FoundVeth | undefined> {
  const named = await step(`look up host veth ${t.hostIf}`, () => findLink(s, t.hostIf));
  if (named) return !t.podNamed || (await routesIp(s, named.index, t.ip)) ? { ...named, name: t.hostIf } : undefined;
  if (!t.formerSuffixes?.length) return undefined;
  const links = await step('list host links', () => s.getLinks({}, {}, OPTS));
  for (const m of links) {
    const name = m.attrs.ifname ?? '';
    if (name === t.hostIf || !HOST_VETH_NAME_RE.test(name) || !t.formerSuffixes.some((x) => name.endsWith(x))) continue;
    const found = await step(`look up host veth ${name}`, () => findLink(s, name));
    if (found?.kind === 'veth' && (await routesIp(s, found.index, t.ip))) return { ...found, name };
  }
  return undefined;
}

/** Whether the main table routes `ip`/32 out of link `index`: the veth is this address's. */
async function routesIp(s: RtSocket, index: number, ip: string | undefined): Promise<boolean> {
  if (!ip) return false;
  const routes = await step('list host routes', () => listRoutes(s));
  return routes.some((r) => r.dst === ip && r.dstLen === 32 && r.oif === index);
}
