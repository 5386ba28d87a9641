/**
 * @module datastore
 * In-memory truth of what this node holds and who uses it (see ./types.ts for
 * the model). Owns nothing else: no cloud calls, no netlink, no metrics, no
 * files; the allocator persists a checkpoint around each change. Time comes in
 * as arguments so the same code runs under the simulator's virtual clock.
 *
 * Assignment is bin-packed: the fullest interface, then the fullest block,
 * then the lowest address. Empty interfaces and prefixes can then be released
 * after churn (the AWS VPC CNI picks at random and cannot shrink).
 */
import type { AttachmentKey, PodRef } from '../../cni/contract/protocol.js';
import type { AddressBlock, BlockKind, NetworkInterface } from '../../providers/types.js';
import { addressesOf } from '../util/cidr.js';
import { interfaceView, type AddressState, type BlockState, type InterfaceState, type ViewContext } from './state.js';
import { keyString, type Assignment, type InterfaceView, type PoolSnapshot } from './types.js';

export interface SyncReport {
  addedBlocks: string[];
  removedBlocks: string[];
  /** Blocks the cloud no longer shows but that still hold Pods: kept, never force-removed. */
  keptInUse: string[];
  addedInterfaces: string[];
  removedInterfaces: string[];
}

export class Datastore {
  private readonly interfaces = new Map<string, InterfaceState>();
  private readonly byIp = new Map<string, AddressState>();
  private readonly byKey = new Map<string, Assignment>();
  /** Restored assignments whose address the cloud does not show (yet): kept so nothing is lost. */
  private readonly orphans = new Map<string, Assignment>();
  /**
   * Prefix mode: /32 blocks are usable fallback capacity (PREFIX_FALLBACK_TO_IPS, set by the reconciler),
   * handed out after prefix addresses, never released as excess; back to false, they drain as stale blocks.
   */
  fallbackIps = false;
  /**
   * Whether Pods may get addresses of this interface now (set by the daemon: a secondary interface's host
   * link and route table must exist first). Its addresses still count as pool capacity meanwhile.
   */
  handOutFrom: (nic: NetworkInterface) => boolean = () => true;

  constructor(
    public mode: BlockKind,
    private readonly cooldownMs: number,
  ) {}

  // ---- interfaces and blocks -------------------------------------------------

  upsertInterface(nic: NetworkInterface, now: number, usable = true): void {
    // An interface the provider says to leave alone (no_manage, trunk, EFA…) never hosts Pods nor shrinks.
    usable &&= !nic.excluded;
    const existing = this.interfaces.get(nic.id);
    if (existing) {
      existing.nic = { ...nic, blocks: [] };
      existing.usable = usable;
    } else {
      this.interfaces.set(nic.id, {
        nic: { ...nic, blocks: [] },
        usable,
        createdAt: now,
        blocks: new Map(),
        assigned: 0,
      });
    }
    this.addBlocks(nic.id, nic.blocks);
  }

  setUsable(interfaceId: string, usable: boolean): void {
    const i = this.interfaces.get(interfaceId);
    if (i) i.usable = usable;
  }

  addBlocks(interfaceId: string, blocks: AddressBlock[]): string[] {
    const iface = this.mustInterface(interfaceId);
    const added: string[] = [];
    for (const b of blocks) {
      if (iface.blocks.has(b.cidr)) continue;
      const block: BlockState = { cidr: b.cidr, kind: b.kind, iface, addresses: [], assigned: 0 };
      for (const ip of addressesOf(b.cidr)) {
        const st: AddressState = { ip, block };
        block.addresses.push(st);
        this.byIp.set(ip, st);
      }
      iface.blocks.set(b.cidr, block);
      added.push(b.cidr);
      this.adoptOrphans(block);
    }
    return added;
  }

  /** Removes blocks that hold no assigned and no cooling address; returns the ones it could not remove. */
  removeBlocks(interfaceId: string, cidrs: string[], now: number): string[] {
    const iface = this.interfaces.get(interfaceId);
    if (!iface) return [];
    const refused: string[] = [];
    for (const cidr of cidrs) {
      const b = iface.blocks.get(cidr);
      if (!b) continue;
      if (b.assigned > 0 || b.addresses.some((a) => this.isCooling(a, now))) {
        refused.push(cidr);
        continue;
      }
      for (const a of b.addresses) this.byIp.delete(a.ip);
      iface.blocks.delete(cidr);
    }
    return refused;
  }

  /** Removes an interface with nothing assigned; returns false (and keeps it) otherwise. */
  removeInterface(interfaceId: string, now: number): boolean {
    const iface = this.interfaces.get(interfaceId);
    if (!iface) return true;
    if (iface.assigned > 0) return false;
    if (this.removeBlocks(interfaceId, [...iface.blocks.keys()], now).length > 0) return false;
    this.interfaces.delete(interfaceId);
    return true;
  }

  /**
   * Brings the model in line with the cloud's view. Adds what the cloud shows
   * (except `recentlyReleased`: a stale read could resurrect a block we just
   * gave back); removes what it no longer shows, unless a Pod still uses it.
   */
  syncFromCloud(nics: NetworkInterface[], now: number, recentlyReleased: ReadonlySet<string> = new Set()): SyncReport {
    const report: SyncReport = {
      addedBlocks: [],
      removedBlocks: [],
      keptInUse: [],
      addedInterfaces: [],
      removedInterfaces: [],
    };
    const seen = new Set<string>();
    for (const nic of nics) {
      seen.add(nic.id);
      if (!this.interfaces.has(nic.id)) {
        report.addedInterfaces.push(nic.id);
        this.upsertInterface({ ...nic, blocks: [] }, now);
      } else {
        this.interfaces.get(nic.id)!.nic = { ...nic, blocks: [] };
      }
      const cloudBlocks = new Set(nic.blocks.map((b) => b.cidr));
      report.addedBlocks.push(
        ...this.addBlocks(
          nic.id,
          nic.blocks.filter((b) => !recentlyReleased.has(b.cidr)),
        ),
      );
      const iface = this.interfaces.get(nic.id)!;
      const missing = [...iface.blocks.keys()].filter((c) => !cloudBlocks.has(c));
      const refused = this.removeBlocks(nic.id, missing, now);
      report.keptInUse.push(...refused);
      report.removedBlocks.push(...missing.filter((c) => !refused.includes(c)));
    }
    for (const [id, iface] of this.interfaces) {
      if (seen.has(id)) continue;
      if (this.removeInterface(id, now)) report.removedInterfaces.push(id);
      else report.keptInUse.push(...[...iface.blocks.keys()]);
    }
    return report;
  }

  // ---- assignments -----------------------------------------------------------

  find(key: AttachmentKey): Assignment | undefined {
    const k = keyString(key);
    return this.byKey.get(k) ?? this.orphans.get(k);
  }

  /**
   * Assigns a free address to `key`, or returns the one it already holds
   * (a repeated ADD must get the same IP). Undefined when nothing is free.
   */
  assign(key: AttachmentKey, pod: PodRef, now: number): { assignment: Assignment; existing: boolean } | undefined {
    const held = this.find(key);
    if (held) return { assignment: held, existing: true };
    const addr = this.pickFree(now);
    if (!addr) return undefined;
    return { assignment: this.bind(addr, key, pod, now), existing: false };
  }

  /**
   * Undoes an assignment without cooldown (rollback of a change that could not be persisted).
   * With `expected`, only that very assignment is undone: if `key` now holds another one (it was
   * released and assigned again meanwhile), nothing changes and the result is undefined.
   */
  unassign(key: AttachmentKey, expected?: Assignment): Assignment | undefined {
    const k = keyString(key);
    const a = this.byKey.get(k);
    if (!a || (expected !== undefined && a !== expected)) return undefined;
    this.byKey.delete(k);
    const st = this.byIp.get(a.ip);
    if (st?.assignment === a) {
      st.assignment = undefined;
      st.block.assigned--;
      st.block.iface.assigned--;
    }
    return a;
  }

  /** Releases `key`'s address into cooldown. Unknown keys return undefined (DEL is idempotent). */
  release(key: AttachmentKey, now: number): Assignment | undefined {
    const k = keyString(key);
    const orphan = this.orphans.get(k);
    if (orphan) {
      this.orphans.delete(k);
      return orphan;
    }
    const a = this.unassign(key);
    if (a) {
      const st = this.byIp.get(a.ip);
      if (st && this.cooldownMs > 0) st.coolingUntil = now + this.cooldownMs;
    }
    return a;
  }

  /**
   * Puts back a released assignment (rollback of a release that could not be persisted).
   * Refuses, changes nothing and returns the current holder, when the address (with no cooldown,
   * or after it ran out) or the key went to someone else meanwhile: putting it back would give
   * one address two holders. Undefined when it was put back.
   */
  restoreAssignment(a: Assignment): Assignment | undefined {
    const k = keyString(a);
    const mine = this.byKey.get(k) ?? this.orphans.get(k);
    if (mine) return mine === a ? undefined : mine;
    const st = this.byIp.get(a.ip);
    if (!st) {
      const other = [...this.orphans.values()].find((o) => o.ip === a.ip);
      if (other) return other;
      this.orphans.set(k, a);
      return undefined;
    }
    if (st.assignment) return st.assignment;
    st.coolingUntil = undefined;
    this.bindExisting(st, a);
    return undefined;
  }

  list(): Assignment[] {
    return [...this.byKey.values(), ...this.orphans.values()];
  }

  orphaned(): Assignment[] {
    return [...this.orphans.values()];
  }

  /** Cooling addresses and when each becomes free (for the checkpoint). */
  coolingEntries(now: number): Array<{ ip: string; until: number }> {
    const out: Array<{ ip: string; until: number }> = [];
    for (const st of this.byIp.values()) if (this.isCooling(st, now)) out.push({ ip: st.ip, until: st.coolingUntil! });
    return out;
  }

  /** Loads checkpointed assignments and cooldowns over the interfaces already known. */
  restore(
    assignments: Assignment[],
    cooling: Array<{ ip: string; until: number }>,
    now: number,
  ): { restored: number; orphaned: number } {
    let restored = 0;
    for (const a of assignments) {
      const st = this.byIp.get(a.ip);
      if (st && !st.assignment) {
        this.bindExisting(st, a);
        restored++;
      } else {
        this.orphans.set(keyString(a), a);
      }
    }
    for (const c of cooling) {
      const st = this.byIp.get(c.ip);
      if (st && !st.assignment && c.until > now) st.coolingUntil = c.until;
    }
    return { restored, orphaned: assignments.length - restored };
  }

  // ---- views -----------------------------------------------------------------

  interfaceList(): Array<NetworkInterface & { usable: boolean; createdAt: number; assigned: number }> {
    return [...this.interfaces.values()].map((i) => ({
      ...i.nic,
      blocks: [...i.blocks.values()].map((b) => ({ cidr: b.cidr, kind: b.kind })),
      usable: i.usable,
      createdAt: i.createdAt,
      assigned: i.assigned,
    }));
  }

  interfaceById(id: string): NetworkInterface | undefined {
    return this.interfaces.get(id)?.nic;
  }

  snapshot(now: number, waiting = 0): PoolSnapshot {
    const views: InterfaceView[] = [];
    let total = 0;
    let assigned = 0;
    let cooling = 0;
    let nextCoolingExpiry: number | undefined;
    const ctx: ViewContext = {
      mode: this.mode,
      isFallback: (b) => this.isFallback(b),
      isCooling: (a) => this.isCooling(a, now),
    };
    for (const i of this.interfaces.values()) {
      const { view: v, nextCoolingExpiry: next } = interfaceView(i, ctx);
      if (next !== undefined) nextCoolingExpiry = Math.min(nextCoolingExpiry ?? Infinity, next);
      if (i.usable) {
        total += v.addresses;
        assigned += v.assigned;
        cooling += v.cooling;
      }
      views.push(v);
    }
    views.sort((a, b) => a.deviceIndex - b.deviceIndex);
    return {
      now,
      mode: this.mode,
      blockSize: this.mode === 'prefix' ? this.prefixBlockSize() : 1,
      total,
      assigned,
      cooling,
      available: total - assigned - cooling,
      nextCoolingExpiry,
      interfaces: views,
      waiting,
    };
  }

  // ---- internals -------------------------------------------------------------

  /** Addresses in one prefix block before any exists (16 for an AWS /28; GCP alias blocks are configurable). */
  defaultPrefixSize = 16;

  private prefixBlockSize(): number {
    for (const i of this.interfaces.values()) {
      for (const b of i.blocks.values()) if (b.kind === 'prefix') return b.addresses.length;
    }
    return this.defaultPrefixSize;
  }

  /** A secondary-IP block used as fallback capacity in prefix mode (see {@link fallbackIps}). */
  private isFallback(b: BlockState): boolean {
    return this.fallbackIps && this.mode === 'prefix' && b.kind === 'ip';
  }

  private isCooling(a: AddressState, now: number): boolean {
    if (a.coolingUntil === undefined) return false;
    if (a.coolingUntil <= now) {
      a.coolingUntil = undefined;
      return false;
    }
    return true;
  }

  private pickFree(now: number): AddressState | undefined {
    const ifaces = [...this.interfaces.values()]
      .filter((i) => i.usable && this.handOutFrom(i.nic))
      .sort((a, b) => b.assigned - a.assigned || a.nic.deviceIndex - b.nic.deviceIndex);
    for (const i of ifaces) {
      // Fallback /32s come after the mode's blocks, so they empty first and can drain.
      const blocks = [...i.blocks.values()]
        .filter((b) => (b.kind === this.mode || this.isFallback(b)) && b.assigned < b.addresses.length)
        .sort(
          (a, b) =>
            Number(a.kind !== this.mode) - Number(b.kind !== this.mode) ||
            b.assigned - a.assigned ||
            (a.cidr < b.cidr ? -1 : 1),
        );
      for (const b of blocks) {
        for (const a of b.addresses) if (!a.assignment && !this.isCooling(a, now)) return a;
      }
    }
    return undefined;
  }

  private bind(st: AddressState, key: AttachmentKey, pod: PodRef, now: number): Assignment {
    const a: Assignment = {
      network: key.network,
      containerId: key.containerId,
      ifName: key.ifName,
      ip: st.ip,
      interfaceId: st.block.iface.nic.id,
      blockCidr: st.block.cidr,
      pod: { ...pod },
      assignedAt: now,
    };
    this.bindExisting(st, a);
    return a;
  }

  private bindExisting(st: AddressState, a: Assignment): void {
    a.interfaceId = st.block.iface.nic.id;
    a.blockCidr = st.block.cidr;
    st.assignment = a;
    st.block.assigned++;
    st.block.iface.assigned++;
    this.byKey.set(keyString(a), a);
  }

  private adoptOrphans(block: BlockState): void {
    if (this.orphans.size === 0) return;
    for (const [k, a] of this.orphans) {
      const st = block.addresses.find((x) => x.ip === a.ip);
      if (st && !st.assignment) {
        this.orphans.delete(k);
        this.bindExisting(st, a);
      }
    }
  }

  private mustInterface(id: string): InterfaceState {
    const i = this.interfaces.get(id);
    if (!i) throw new Error(`datastore: unknown interface ${id}`);
    return i;
  }
}
