/**
 * @module pod network plumber (seam)
 * ipamd wires the Pod network namespace itself (a warm daemon does it in a few
 * ms; a cold Node process would pay ~100 ms of imports per Pod). The socket
 * server calls this seam after an address is assigned and before it answers
 * the plugin; the real implementation runs netlink + setns on a worker thread.
 */

export interface PodWiring {
  containerId: string;
  /** CNI_NETNS path. */
  netnsPath: string;
  /** CNI_IFNAME inside the Pod, usually eth0. */
  ifName: string;
  /** Pod address, no prefix length (it is always /32). */
  ip: string;
  mtu: number;
  /** Policy-routing table for secondary-interface addresses; 0 = main table (no rule). */
  routeTable: number;
}

/** What DEL knows: the address may be unknown ('') and the netns may be gone. */
export interface PodUnwiring {
  containerId: string;
  ifName: string;
  ip: string;
  routeTable: number;
  netnsPath?: string;
}

export interface WiredPod {
  hostIf: string;
  podMac: string;
  hostMac?: string;
}

/** A secondary cloud interface as the host must see it (see host-interface.ts). */
export interface HostInterface {
  /** `NetworkInterface.mac`: how the Linux link is found. */
  mac: string;
  /** >= 1; its policy-routing table is deviceIndex + 1. */
  deviceIndex: number;
  /** The interface's subnet; the gateway is its network address + 1. */
  subnetCidr: string;
  mtu: number;
}

export interface PodNetworkPlumber {
  /** Creates veth, address, routes, neighbour, host route and rule. Undoes its own steps on failure. */
  setUp(w: PodWiring): Promise<WiredPod>;
  /** Removes whatever exists of the above; succeeds when nothing is left (idempotent, tolerates a missing netns). */
  tearDown(w: PodUnwiring): Promise<void>;
  /** Throws a NetnsError naming what is missing or wrong. */
  check(w: PodWiring): Promise<void>;
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
  close(): Promise<void>;
}

/** Used when ipamd runs without root or in the simulator: addresses only, no kernel state. */
export class NoopPlumber implements PodNetworkPlumber {
  async setUp(w: PodWiring): Promise<WiredPod> {
    return { hostIf: hostVethName(w.containerId, w.ifName), podMac: '00:00:00:00:00:00' };
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

/**
 * Host veth name: `vpc` + 11 hex chars of a hash of (containerId, ifName).
 * Stable, so DEL finds it from the key alone; 14 chars fit IFNAMSIZ (15).
 */
export function hostVethName(containerId: string, ifName: string): string {
  // FNV-1a 64-bit: no crypto import on the hot path, collisions irrelevant at node scale.
  let h = 0xcbf29ce484222325n;
  for (const ch of `${containerId}/${ifName}`) {
    h ^= BigInt(ch.charCodeAt(0));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return `vpc${h.toString(16).padStart(16, '0').slice(0, 11)}`;
}
