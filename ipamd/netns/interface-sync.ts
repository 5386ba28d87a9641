/**
 * @module host interface sync (daemon side)
 * Keeps the host links of the node's secondary interfaces in line with the
 * datastore, through the plumber's optional `setUpInterface` /
 * `tearDownInterface`. The daemon calls {@link HostInterfaceSync.sync} after
 * init, after an interface is attached or deleted, and on every resync.
 *
 * Every pass re-applies every secondary interface: the plumber writes nothing
 * when the link and table are already right, and a table someone flushed
 * (NetworkManager-cloud-setup is known to) comes back within one resync. An
 * interface whose link the kernel does not show yet ('absent') is retried on
 * the next pass; growth never waits for it. Passes never overlap, and a call
 * during a pass makes one more pass with the newest list.
 */

import type { NetworkInterface } from '../../providers/types.js';
import type { PodNetworkPlumber } from './plumber.js';

export interface InterfaceSyncLog {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
}

export interface HostLinkState {
  interfaceId: string;
  deviceIndex: number;
  mac: string;
  routeTable: number;
  state: 'configured' | 'absent' | 'failed';
  error?: string;
}

export class HostInterfaceSync {
  /** Last outcome per interface id. */
  private readonly states = new Map<string, HostLinkState>();
  private latest: readonly NetworkInterface[] = [];
  private dirty = false;
  private running: Promise<void> | undefined;

  constructor(
    private readonly o: { plumber: PodNetworkPlumber; mtu: number; log: InterfaceSyncLog },
  ) {}

  /** Host link state per secondary interface, for introspection. */
  list(): HostLinkState[] {
    return [...this.states.values()].sort((a, b) => a.deviceIndex - b.deviceIndex);
  }

  /** Applies `interfaces` (all of the node's, primary included; it is skipped). Never rejects. */
  sync(interfaces: readonly NetworkInterface[]): Promise<void> {
    this.latest = interfaces;
    if (this.running) {
      this.dirty = true;
      return this.running;
    }
    this.running = this.loop();
    return this.running;
  }

  /** Resolves when no pass is running (the daemon waits for it before closing the plumber). */
  async idle(): Promise<void> {
    await this.running;
  }

  private async loop(): Promise<void> {
    try {
      for (;;) {
        this.dirty = false;
        await this.pass(this.latest);
        // Checked and cleared in the same microtask as the `finally`, so a sync() cannot slip between them.
        if (!this.dirty) return;
      }
    } finally {
      this.running = undefined;
    }
  }

  private async pass(interfaces: readonly NetworkInterface[]): Promise<void> {
    const { plumber, log } = this.o;
    if (!plumber.setUpInterface) return;
    const wanted = new Map(interfaces.filter((n) => n.deviceIndex > 0).map((n) => [n.id, n]));
    // Tear down first: a new interface may take the slot (and table) of a deleted one below, and
    // its set-up must not find the old routes (if its own link is absent they would stay).
    for (const [id, st] of this.states) {
      const now = wanted.get(id);
      if (now && now.deviceIndex === st.deviceIndex) continue;
      // 'failed' may have written part of the table; only 'absent' certainly wrote nothing.
      if (st.state === 'absent' || !plumber.tearDownInterface) {
        this.states.delete(id);
        continue;
      }
      try {
        await plumber.tearDownInterface({ deviceIndex: st.deviceIndex });
        this.states.delete(id);
        log.info({ interfaceId: id, deviceIndex: st.deviceIndex, routeTable: st.routeTable }, 'interface gone: its route table was emptied');
      } catch (err) {
        // Kept: the next pass tries the teardown again.
        log.warn({ interfaceId: id, routeTable: st.routeTable, err: (err as Error).message }, 'emptying the route table of a deleted interface failed; retrying on the next resync');
      }
    }
    for (const nic of wanted.values()) {
      const before = this.states.get(nic.id)?.state;
      const base = { interfaceId: nic.id, deviceIndex: nic.deviceIndex, mac: nic.mac, routeTable: nic.deviceIndex + 1 };
      try {
        const state = await plumber.setUpInterface({ mac: nic.mac, deviceIndex: nic.deviceIndex, subnetCidr: nic.subnetCidr, mtu: this.o.mtu });
        this.states.set(nic.id, { ...base, state });
        // Log transitions only: passes repeat every resync.
        if (state === before) continue;
        if (state === 'configured') log.info({ ...base, subnetCidr: nic.subnetCidr, mtu: this.o.mtu }, 'host link of interface configured (MTU, up, route table)');
        else log.info(base, 'no host link with this MAC yet; retrying on the next resync');
      } catch (err) {
        const message = (err as Error).message;
        this.states.set(nic.id, { ...base, state: 'failed', error: message });
        log.warn({ ...base, err: message }, 'configuring the host link of an interface failed; retrying on the next resync');
      }
    }
  }
}
