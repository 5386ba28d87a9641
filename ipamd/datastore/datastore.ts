/**
 * @module datastore
 * In-memory truth of what this node holds and who uses it (see ./types.ts for
 * the model). Owns nothing else: no cloud calls, no netlink, no metrics, no
 * files; the allocator persists a checkpoint around each change. Time comes in
 * as arguments so the same code runs under the simulator's virtual clock.
 *
 * Assignment is bin-packed (./free-address.ts). Blocks are ranges with
 * allocation state by offset (./state.ts), so a block costs the same whether
 * it is a /32 or an IPv6 /80.
 */
import type { AttachmentKey, PodRef } from '../../cni/contract/protocol.js';
import type { AddressBlock, BlockKind, NetworkInterface } from '../../providers/types.js';
import { addressAt, offsetOf, parseCidr } from '../../providers/net/cidr.js';
import { pickFree } from './free-address.js';
import {
  coolingOf,
  expireCooling,
  interfaceView,
  locateAddress,
  type BlockState,
  type Binding,
  type InterfaceState,
  type ViewContext,
} from './state.js';
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
  /** Every block of every interface, in the order they were added (the checkpoint lists cooldowns so). */
  private readonly blocks = new Set<BlockState>();
  private readonly byKey = new Map<string, Binding>();
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
    readonly cooldownMs: number,
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
      const range = parseCidr(b.cidr);
      const block: BlockState = { cidr: b.cidr, kind: b.kind, iface, range, assigned: new Map(), cooling: new Map() };
      this.blocks.add(block);
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
      if (b.assigned.size > 0 || expireCooling(b, now) > 0) {
        refused.push(cidr);
        continue;
      }
      this.blocks.delete(b);
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
    return this.byKey.get(k)?.assignment ?? this.orphans.get(k);
  }

  /**
   * Assigns a free address to `key`, or returns the one it already holds
   * (a repeated ADD must get the same IP). Undefined when nothing is free.
   */
  assign(key: AttachmentKey, pod: PodRef, now: number): { assignment: Assignment; existing: boolean } | undefined {
    const held = this.find(key);
    if (held) return { assignment: held, existing: true };
    const free = pickFree(this.interfaces.values(), {
      mode: this.mode,
      isFallback: (b) => this.isFallback(b),
      handOutFrom: this.handOutFrom,
      now,
    });
    if (!free) return undefined;
    return { assignment: this.bind(free.block, free.offset, key, pod, now), existing: false };
  }

  /**
   * Undoes an assignment without cooldown (rollback of a change that could not be persisted).
   * With `expected`, only that very assignment is undone: if `key` now holds another one (it was
   * released and assigned again meanwhile), nothing changes and the result is undefined.
   */
  unassign(key: AttachmentKey, expected?: Assignment): Assignment | undefined {
    return this.unbind(key, expected)?.assignment;
  }

  /** Releases `key`'s address into cooldown. Unknown keys return undefined (DEL is idempotent). */
  release(key: AttachmentKey, now: number): Assignment | undefined {
    const k = keyString(key);
    const orphan = this.orphans.get(k);
    if (orphan) {
      this.orphans.delete(k);
      return orphan;
    }
    const held = this.unbind(key);
    if (held && this.cooldownMs > 0) {
      held.block.cooling.set(held.offset, { until: now + this.cooldownMs, ip: held.assignment.ip });
    }
    return held?.assignment;
  }

  /**
   * Puts back a released assignment (rollback of a release that could not be persisted).
   * Refuses, changes nothing and returns the current holder, when the address (with no cooldown,
   * or after it ran out) or the key went to someone else meanwhile: putting it back would give
   * one address two holders. Undefined when it was put back.
   */
  restoreAssignment(a: Assignment): Assignment | undefined {
    const k = keyString(a);
    const mine = this.byKey.get(k)?.assignment ?? this.orphans.get(k);
    if (mine) return mine === a ? undefined : mine;
    const at = locateAddress(this.blocks, a.ip);
    if (!at) {
      const other = [...this.orphans.values()].find((o) => o.ip === a.ip);
      if (other) return other;
      this.orphans.set(k, a);
      return undefined;
    }
    const holder = at.block.assigned.get(at.offset);
    if (holder) return holder;
    at.block.cooling.delete(at.offset);
    this.bindExisting(at.block, at.offset, a);
    return undefined;
  }

  list(): Assignment[] {
    return [...[...this.byKey.values()].map((b) => b.assignment), ...this.orphans.values()];
  }

  orphaned(): Assignment[] {
    return [...this.orphans.values()];
  }

  /** Cooling addresses and when each becomes free (for the checkpoint). */
  coolingEntries(now: number): Array<{ ip: string; until: number }> {
    return [...this.blocks].flatMap((b) => coolingOf(b, now));
  }

  /** Loads checkpointed assignments and cooldowns over the interfaces already known. */
  restore(
    assignments: Assignment[],
    cooling: Array<{ ip: string; until: number }>,
    now: number,
  ): { restored: number; orphaned: number } {
    let restored = 0;
    for (const a of assignments) {
      const at = locateAddress(this.blocks, a.ip);
      if (at && !at.block.assigned.has(at.offset)) {
        this.bindExisting(at.block, at.offset, a);
        restored++;
      } else {
        this.orphans.set(keyString(a), a);
      }
    }
    for (const c of cooling) {
      const at = locateAddress(this.blocks, c.ip);
      if (!at || at.block.assigned.has(at.offset) || c.until <= now) continue;
      at.block.cooling.set(at.offset, { until: c.until, ip: addressAt(at.block.range, at.offset) });
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
    const ctx: ViewContext = { mode: this.mode, isFallback: (b) => this.isFallback(b), now };
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
      for (const b of i.blocks.values()) if (b.kind === 'prefix') return Number(b.range.size);
    }
    return this.defaultPrefixSize;
  }

  /** A secondary-IP block used as fallback capacity in prefix mode (see {@link fallbackIps}). */
  private isFallback(b: BlockState): boolean {
    return this.fallbackIps && this.mode === 'prefix' && b.kind === 'ip';
  }

  private bind(block: BlockState, offset: bigint, key: AttachmentKey, pod: PodRef, now: number): Assignment {
    const a: Assignment = {
      network: key.network,
      containerId: key.containerId,
      ifName: key.ifName,
      ip: addressAt(block.range, offset),
      interfaceId: block.iface.nic.id,
      blockCidr: block.cidr,
      pod: { ...pod },
      assignedAt: now,
    };
    this.bindExisting(block, offset, a);
    return a;
  }

  private bindExisting(block: BlockState, offset: bigint, a: Assignment): void {
    a.interfaceId = block.iface.nic.id;
    a.blockCidr = block.cidr;
    block.assigned.set(offset, a);
    block.iface.assigned++;
    this.byKey.set(keyString(a), { assignment: a, block, offset });
  }

  /** Takes `key`'s address back (without cooldown); with `expected`, only if `key` still holds that one. */
  private unbind(key: AttachmentKey, expected?: Assignment): Binding | undefined {
    const k = keyString(key);
    const held = this.byKey.get(k);
    if (!held || (expected !== undefined && held.assignment !== expected)) return undefined;
    this.byKey.delete(k);
    if (held.block.assigned.get(held.offset) === held.assignment) {
      held.block.assigned.delete(held.offset);
      held.block.iface.assigned--;
    }
    return held;
  }

  private adoptOrphans(block: BlockState): void {
    if (this.orphans.size === 0) return;
    for (const [k, a] of this.orphans) {
      const offset = offsetOf(block.range, a.ip);
      if (offset !== undefined && !block.assigned.has(offset)) {
        this.orphans.delete(k);
        this.bindExisting(block, offset, a);
      }
    }
  }

  private mustInterface(id: string): InterfaceState {
    const i = this.interfaces.get(id);
    if (!i) throw new Error(`datastore: unknown interface ${id}`);
    return i;
  }
}
