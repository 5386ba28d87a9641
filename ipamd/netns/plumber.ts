/**
 * @module pod network plumber (seam)
 * ipamd wires the Pod network namespace itself (a warm daemon does it in a few
 * ms; a cold Node process would pay ~100 ms of imports per Pod). The socket
 * server calls this seam after an address is assigned and before it answers
 * the plugin; the real implementation runs netlink + setns on a worker thread.
 */

import { hostVethName } from '../../cni/contract/veth-name.js';

export interface PodWiring {
  containerId: string;
  /** CNI_NETNS path. */
  netnsPath: string;
  /** CNI_IFNAME inside the Pod, usually eth0. */
  ifName: string;
  /** Pod address, no prefix length (it is always /32). */
  ip: string;
  mtu: number;
  /** Policy-routing table for secondary-interface addresses; 0 = main table (no from-rule). */
  routeTable: number;
  /**
   * Destinations the from-rules (1536) send to `routeTable`: the VPC CIDRs and the SNAT exclusions while
   * ipamd SNATs (everything else takes the main table and is SNATed), `['0.0.0.0/0']` with external SNAT.
   * Unused with routeTable 0; absent means `['0.0.0.0/0']`.
   */
  tableDestinations?: string[];
  /** The host veth's name (`hostVethNameFor` under the node's naming); absent: the attachment naming. */
  hostIf?: string;
}

/** What DEL knows: the address may be unknown ('') and the netns may be gone. */
export interface PodUnwiring {
  containerId: string;
  ifName: string;
  ip: string;
  routeTable: number;
  netnsPath?: string;
  /** As in {@link PodWiring}; with the two below, what cni/contract/host-teardown.ts's target says. */
  hostIf?: string;
  podNamed?: boolean;
  formerSuffixes?: string[];
  /** Remove the host route and rules only; the veth is left for the namespace's deletion (host-teardown.ts). */
  keepLink?: boolean;
}

/** A host veth a DEL left in place (`keepLink`), identified by its index. */
export interface KeptLink {
  index: number;
  name: string;
}

/** The host veth of `w`: the name ipamd chose, else the attachment naming (callers that predate the prefix). */
export function hostIfOf(w: { containerId: string; ifName: string; hostIf?: string }): string {
  return w.hostIf ?? hostVethName(w.containerId, w.ifName);
}

/** The host rules of one assigned address, for the resync repair ({@link PodNetworkPlumber.podRules}). */
export interface PodRules {
  ip: string;
  routeTable: number;
  tableDestinations: string[];
  /** When given, the address is only looked at if this host veth exists (a Pod wired by ADD). */
  hostIf?: string;
  /** Or a host veth of the Pod under an earlier prefix: a name of HOST_VETH_NAME_RE ending with one of these. */
  formerSuffixes?: string[];
}

export interface WiredPod {
  hostIf: string;
  podMac: string;
  hostMac?: string;
}

/** What the node as a whole needs from the kernel's routing (node-routing.ts). */
export interface NodeRouting {
  /** MAC of the primary interface: how its link name is found. */
  primaryMac: string;
  /** AWS_VPC_K8S_CNI_CONNMARK when NodePort support is on; 0 = no fwmark rule (and any left is removed). */
  connmark: number;
}

export interface NodeRoutingResult {
  /** Link name of the primary interface, when found. */
  primaryIf?: string;
  changed: string[];
}

/** A secondary cloud interface as the host must see it (see host-interface.ts). */
export interface HostInterface {
  /** `NetworkInterface.mac`: how the Linux link is found. */
  mac: string;
  /** The interface's own address: put on the link (with the subnet's length) and given a rule to its table. */
  primaryIp: string;
  /** >= 1; its policy-routing table is deviceIndex + 1. */
  deviceIndex: number;
  /** The interface's subnet; the gateway is its network address + 1. */
  subnetCidr: string;
  mtu: number;
}

export interface PodNetworkPlumber {
  /** Creates veth, address, routes, neighbour, host route and rule. Undoes its own steps on failure. */
  setUp(w: PodWiring): Promise<WiredPod>;
  /**
   * Removes whatever exists of the above; succeeds when nothing is left (idempotent, tolerates a missing netns).
   * With `keepLink`, may return the veth it left ({@link deleteKeptLink} removes it if it outlives its netns).
   */
  tearDown(w: PodUnwiring): Promise<void | { keptLink?: KeptLink }>;
  /** Optional: deletes a kept veth if it still exists as that very link; false when it was already gone. */
  deleteKeptLink?(link: KeptLink): Promise<boolean>;
  /** Throws a NetnsError naming what is missing or wrong. */
  check(w: PodWiring): Promise<void>;
  /**
   * Optional: for each address, what is wrong with its policy rules ([] when exact), from one rule dump;
   * with `repair`, replaces the rules of those that are wrong. Host side only: no netns is entered.
   */
  podRules?(rules: PodRules[], repair: boolean): Promise<Array<{ ip: string; problems: string[] }>>;
  /** Optional: node-wide routing (the NodePort fwmark rule); see node-routing.ts. */
  setUpNodeRouting?(n: NodeRouting): Promise<NodeRoutingResult>;
  checkNodeRouting?(n: NodeRouting): Promise<string[]>;
  /**
   * Optional: throws NetnsRefusedError when `netnsPath` is not a network
   * namespace or is the host's or ipamd's own, before an address is assigned.
   */
  vetNetns?(netnsPath: string): Promise<void>;
  /**
   * Optional: sets MTU and up on the host link with `i.mac`, and fills table
   * deviceIndex + 1 with the gateway's link route and a default route via it.
   * Idempotent. 'absent' when no link has that MAC (yet): the caller retries.
   */
  setUpInterface?(i: HostInterface): Promise<'configured' | 'absent'>;
  /** Optional: empties table deviceIndex + 1 (the interface was deleted). Idempotent. */
  tearDownInterface?(i: { deviceIndex: number }): Promise<void>;
  /** Optional (liveness): undefined when the plumbing answers, else why not. Never throws. */
  alive?(): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Used when ipamd runs without root or in the simulator: addresses only, no kernel state. */
export class NoopPlumber implements PodNetworkPlumber {
  async setUp(w: PodWiring): Promise<WiredPod> {
    return { hostIf: hostIfOf(w), podMac: '00:00:00:00:00:00' };
  }
  async tearDown(): Promise<void> {}
  async check(): Promise<void> {}
  /** No kernel state here: there is never a link to configure. */
  async setUpInterface(): Promise<'configured' | 'absent'> {
    return 'absent';
  }
  async tearDownInterface(): Promise<void> {}
  async close(): Promise<void> {}
}
