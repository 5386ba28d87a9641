/**
 * @module the AWS CNI's host wiring, as adoption reads it
 * The host's link names and IPv4 policy rules, read once over rtnetlink in ipamd's own (the host's) network
 * namespace, before the socket serves; and the AWS CNI's `PruneStaleAllocations`: the rules of allocations
 * whose veth is gone are deleted. Host side only: no Pod namespace is entered.
 */
import { createRtNetlink, OPTS, type RtSocket } from '../../cni/contract/netlink-ops.js';
import { deletePodRules } from '../../cni/contract/pod-rules.js';
import { listRules } from '../netns/policy-rules.js';
import type { HostWiring } from './adoption-plan.js';

/** A seam for tests without root: what adoption needs of the host. */
export interface HostWiringPort {
  scan(): Promise<HostWiring>;
  /** Deletes the 512 and 1536 rules of each address; a count. */
  pruneRules(ips: readonly string[]): Promise<number>;
}

async function withSocket<T>(fn: (s: RtSocket) => Promise<T>): Promise<T> {
  const s = createRtNetlink();
  try {
    return await fn(s);
  } finally {
    s.socket.close();
  }
}

export const netlinkHostWiring: HostWiringPort = {
  scan: () =>
    withSocket(async (s) => {
      const links = (await s.getLinks({}, {}, OPTS)).map((m) => m.attrs.ifname).filter((n): n is string => !!n);
      return { links, rules: await listRules(s) };
    }),
  pruneRules: (ips) =>
    withSocket(async (s) => {
      let n = 0;
      for (const ip of ips) n += await deletePodRules(s, ip);
      return n;
    }),
};
