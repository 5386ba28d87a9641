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
 * interface whose link the kernel does not show yet ('absent': EC2 hot-plugs
 * the device a few seconds after the attachment reads "attached") is retried
 * soon, with a doubling delay (200 ms to 5 s, for about a minute), then on
 * every resync. Growth never waits for it, but its addresses are handed to Pods
 * only once it is 'configured' ({@link HostInterfaceSync.ready}): before its
 * table exists a Pod's traffic would leave by eth0 with a source EC2 drops.
 * Excluded interfaces (`NetworkInterface.excluded`) are never touched. Passes
 * never overlap, and a call during a pass makes one more pass with the newest list.
 */

import type { NetworkInterface } from '../../providers/types.js';
import type { Clock } from '../util/clock.js';
import type { PodNetworkPlumber } from './plumber.js';

const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 5_000;
const RETRY_BUDGET_MS = 60_000;

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
  private retry: { delayMs: number; spentMs: number; timer?: AbortController } | undefined;
  private stopped = false;

  constructor(
    private readonly o: {
      plumber: PodNetworkPlumber;
      mtu: number;
      log: InterfaceSyncLog;
      clock?: Clock;
      /** An interface became configured (waiting ADDs may now take its addresses). */
      onConfigured?: (interfaceId: string) => void;
    },
  ) {}

  /** Whether Pods may get addresses of this secondary interface: its link and table are in place. */
  ready(interfaceId: string): boolean {
    return this.states.get(interfaceId)?.state === 'configured';
  }

  /** No more retries (daemon stop). */
  stop(): void {
    this.stopped = true;
    this.retry?.timer?.abort();
  }

  /** Host link state per secondary interface, for introspection. */
  list(): HostLinkState[] {
    return [...this.states.values()].sort((a, b) => a.deviceIndex - b.deviceIndex);
  }

  /** Applies `interfaces` (all of the node's, primary included; it is skipped). Never rejects. */
  sync(interfaces: readonly NetworkInterface[]): Promise<void> {
    this.latest = interfaces;
    // A newly attached interface gets the quick retries again, even after an earlier one used them up.
    const fresh = interfaces.some((n) => n.deviceIndex > 0 && !n.excluded && !this.states.has(n.id));
    if (fresh && this.retry && !this.retry.timer) this.retry = undefined;
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
    const wanted = new Map(interfaces.filter((n) => n.deviceIndex > 0 && !n.excluded).map((n) => [n.id, n]));
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
        log.info(
          { interfaceId: id, deviceIndex: st.deviceIndex, routeTable: st.routeTable },
          'interface gone: its route table was emptied',
        );
      } catch (err) {
        // Kept: the next pass tries the teardown again.
        log.warn(
          { interfaceId: id, routeTable: st.routeTable, err: (err as Error).message },
          'emptying the route table of a deleted interface failed; retrying on the next resync',
        );
      }
    }
    for (const nic of wanted.values()) {
      const before = this.states.get(nic.id)?.state;
      const base = { interfaceId: nic.id, deviceIndex: nic.deviceIndex, mac: nic.mac, routeTable: nic.deviceIndex + 1 };
      try {
        const state = await plumber.setUpInterface({
          mac: nic.mac,
          deviceIndex: nic.deviceIndex,
          subnetCidr: nic.subnetCidr,
          primaryIp: nic.primaryIp,
          mtu: this.o.mtu,
        });
        this.states.set(nic.id, { ...base, state });
        // Log transitions only: passes repeat every resync.
        if (state === before) continue;
        if (state === 'configured') {
          log.info(
            { ...base, subnetCidr: nic.subnetCidr, mtu: this.o.mtu },
            'host link of interface configured (address, MTU, up, route table, rule)',
          );
          this.o.onConfigured?.(nic.id);
        } else log.info(base, 'no host link with this MAC yet; retrying shortly');
      } catch (err) {
        const message = (err as Error).message;
        this.states.set(nic.id, { ...base, state: 'failed', error: message });
        log.warn({ ...base, err: message }, 'configuring the host link of an interface failed; retrying shortly');
      }
    }
    this.scheduleRetry();
  }

  /** A link not there yet (or a failed set-up) is looked for again soon, not only at the next resync. */
  private scheduleRetry(): void {
    const pending = [...this.states.values()].some((s) => s.state !== 'configured');
    if (!pending) {
      this.retry?.timer?.abort();
      this.retry = undefined;
      return;
    }
    const clock = this.o.clock;
    if (!clock || this.stopped || this.retry?.timer) return;
    const r = (this.retry ??= { delayMs: RETRY_FIRST_MS, spentMs: 0 });
    if (r.spentMs >= RETRY_BUDGET_MS) return; // from here on, the resync's passes retry
    const timer = new AbortController();
    r.timer = timer;
    const delay = r.delayMs;
    clock.sleep(delay, timer.signal).then(
      () => {
        r.timer = undefined;
        r.spentMs += delay;
        r.delayMs = Math.min(RETRY_MAX_MS, delay * 2);
        if (!this.stopped) void this.sync(this.latest);
      },
      () => undefined,
    );
  }
}
