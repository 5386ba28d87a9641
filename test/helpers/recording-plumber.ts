/**
 * Test helper: a plumber that keeps the "kernel" in a map (host veth → Pod
 * address) and yields a random number of event-loop turns inside each call,
 * so concurrent requests interleave the way real netlink calls do.
 */
import { NetnsError } from '../../providers/errors.js';
import { hostVethName } from '../../cni/contract/veth-name.js';
import { type PodNetworkPlumber, type PodUnwiring, type PodWiring, type WiredPod } from '../../ipamd/netns/plumber.js';

export class RecordingPlumber implements PodNetworkPlumber {
  /** host veth name → the address its route points at. */
  readonly wired = new Map<string, string>();
  /** Every time a veth was wired to an address another veth still routed to. */
  readonly conflicts: string[] = [];
  /** Teardowns waiting at the gate of {@link holdTearDowns}. */
  tearDownsHeld = 0;
  private tearDownGate: Promise<void> | undefined;

  constructor(private readonly random: () => number) {}

  async setUp(w: PodWiring): Promise<WiredPod> {
    await this.pause();
    const hostIf = hostVethName(w.containerId, w.ifName);
    const others = this.holdersOf(w.ip).filter((h) => h !== hostIf);
    if (others.length) this.conflicts.push(`${w.containerId} wired to ${w.ip}, still routed by ${others.join(', ')}`);
    this.wired.set(hostIf, w.ip);
    await this.pause();
    return { hostIf, podMac: '02:00:00:00:00:01' };
  }

  async tearDown(w: PodUnwiring): Promise<void> {
    const gate = this.tearDownGate;
    if (gate) {
      this.tearDownsHeld++;
      await gate.finally(() => this.tearDownsHeld--);
    }
    await this.pause();
    this.wired.delete(hostVethName(w.containerId, w.ifName));
    await this.pause();
  }

  async check(w: PodWiring): Promise<void> {
    const ip = this.wired.get(hostVethName(w.containerId, w.ifName));
    if (ip !== w.ip) throw new NetnsError(`veth of ${w.containerId} routes to ${ip ?? 'nothing'}, not ${w.ip}`);
  }

  async close(): Promise<void> {}

  /** Later teardowns wait (a slow netlink call) until the returned function is called. */
  holdTearDowns(): () => void {
    let open!: () => void;
    this.tearDownGate = new Promise<void>((r) => (open = r));
    return () => {
      this.tearDownGate = undefined;
      open();
    };
  }

  /** Host veths whose route points at `ip`. */
  holdersOf(ip: string): string[] {
    return [...this.wired].filter(([, v]) => v === ip).map(([k]) => k);
  }

  private async pause(): Promise<void> {
    const turns = Math.floor(this.random() * 4);
    for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
  }
}
