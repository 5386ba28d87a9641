/**
 * @module checkpoint repair
 * Turns an inconsistent checkpoint (checkpoint-verify.ts) into a consistent
 * copy for an operator to review; `vpc-ipamctl checkpoint repair` writes it
 * beside the original, which is never touched. Every entry that is dropped
 * or changed is reported; nothing disappears silently. The rules:
 *
 * - bookkeeping an entry can live without being exact (interfaceId,
 *   blockCidr, pod, assignedAt) is rebuilt; ipamd rebuilds interfaceId and
 *   blockCidr from the cloud at restore anyway. Reported as `changed`.
 * - an entry whose identity (network, containerId, ifName, ip) is unusable
 *   names no attachment ipamd could ever release: dropped.
 * - an exact repeat of an earlier entry: dropped, nothing is lost.
 * - two attachments on one address, or one attachment with two addresses:
 *   the checkpoint cannot say which is true, so the first in the file is
 *   kept (the operator can choose another with `keep`), and the others are
 *   dropped with `holderLost`: their Pod, if it exists, must be re-added
 *   (deleted, so its controller recreates it). A dropped entry's address is
 *   quarantined as cooling for `quarantineMs`, so a Pod that really holds it
 *   does not see it handed to another Pod before the operator acts.
 * - cooling entries: unusable ones and ones for a kept holder's address are
 *   dropped; a repeated address keeps its latest `until`.
 */
import { CheckpointError } from '../../providers/errors.js';
import {
  assignmentFieldProblems,
  CHECKPOINT_VERSION,
  coolingFieldProblems,
  describeEntry,
  fatalProblem,
  inspectCheckpoint,
  isCanonicalIpv4,
  POD_FIELDS,
} from './checkpoint-verify.js';
import type { CheckpointData } from './checkpoint.js';
import { keyString, type Assignment } from './types.js';

export interface RepairAction {
  list: 'assignments' | 'cooling';
  index: number;
  entry: string;
  action: 'dropped' | 'changed';
  why: string;
  /** The entry's Pod, if it exists, has no address in the copy: delete it (or choose it with `keep`). */
  holderLost?: boolean;
}

export interface RepairPlan {
  repaired: CheckpointData;
  actions: RepairAction[];
  /** Addresses of dropped entries put into cooling until `until`. */
  quarantined: Array<{ ip: string; until: number }>;
}

export interface RepairOptions {
  /** Assignment indexes to prefer over the first entry of their collision. */
  keep?: number[];
  /** How long dropped entries' addresses stay cooling (default 1 h); 0 disables. */
  quarantineMs?: number;
  now?: number;
}

type Obj = Record<string, unknown>;

/** Rebuilds the bookkeeping fields; returns what changed. */
function fixBookkeeping(a: Obj): { fixed: Assignment; changes: string[] } {
  const problems = assignmentFieldProblems(a).filter((p) => p.kind === 'fixable');
  const ip = a.ip as string;
  const fixed = { ...a } as unknown as Assignment;
  const changes: string[] = [];
  for (const p of problems) {
    if (p.what.startsWith('interfaceId')) {
      fixed.interfaceId = 'unknown';
      changes.push(`${p.what}: set to "unknown" (ipamd re-reads it from the cloud)`);
    } else if (p.what.startsWith('blockCidr')) {
      fixed.blockCidr = `${ip}/32`;
      changes.push(`${p.what}: set to ${ip}/32 (ipamd re-reads it from the cloud)`);
    } else if (p.what.startsWith('pod')) {
      const pod = (typeof a.pod === 'object' && a.pod !== null ? a.pod : {}) as Obj;
      fixed.pod = Object.fromEntries(POD_FIELDS.filter((k) => typeof pod[k] === 'string').map((k) => [k, pod[k]]));
      changes.push(`${p.what}: kept only its string namespace/name/uid`);
    } else if (p.what.startsWith('assignedAt')) {
      fixed.assignedAt = 0;
      changes.push(`${p.what}: set to 0`);
    }
  }
  return { fixed, changes };
}

export function planRepair(data: unknown, opts: RepairOptions = {}): RepairPlan {
  const fatal = fatalProblem(data);
  if (fatal) throw new CheckpointError(`cannot repair: ${fatal}`);
  const quarantineMs = opts.quarantineMs ?? 3_600_000;
  const quarantineUntil = (opts.now ?? Date.now()) + quarantineMs;
  const { assignments, cooling } = data as { assignments: unknown[]; cooling: unknown[] };
  const actions: RepairAction[] = [];
  /** Addresses whose entry was dropped while its Pod may still use them. */
  const lostIps = new Set<string>();
  const drop = (index: number, why: string, holderLost: boolean) => {
    const a = assignments[index] as Obj | null;
    if (holderLost && isCanonicalIpv4(a?.ip)) lostIps.add(a.ip);
    actions.push({ list: 'assignments', index, entry: describeEntry(a), action: 'dropped', why, holderLost });
  };

  // Own fields first: unusable identities go, bookkeeping is rebuilt.
  const usable = new Map<number, Assignment>();
  const changes = new Map<number, string[]>();
  assignments.forEach((a, index) => {
    const invalid = assignmentFieldProblems(a).filter((p) => p.kind === 'invalid');
    if (invalid.length) return drop(index, `invalid: ${invalid.map((p) => p.what).join('; ')}`, true);
    const fix = fixBookkeeping(a as Obj);
    usable.set(index, fix.fixed);
    changes.set(index, fix.changes);
  });

  for (const k of opts.keep ?? []) {
    if (!usable.has(k)) throw new CheckpointError(`cannot keep assignments[${k}]: no such usable entry`);
  }
  // Collisions: the kept entries claim first, then file order.
  const order = [...new Set([...(opts.keep ?? []), ...usable.keys()])];
  const kept = new Map<number, Assignment>();
  const byKey = new Map<string, number>();
  const byIp = new Map<string, number>();
  const keepSet = new Set(opts.keep ?? []);
  for (const index of order) {
    const a = usable.get(index)!;
    const j = byKey.get(keyString(a)) ?? byIp.get(a.ip);
    if (j === undefined) {
      kept.set(index, a);
      byKey.set(keyString(a), index);
      byIp.set(a.ip, index);
      continue;
    }
    if (keepSet.has(index)) {
      throw new CheckpointError(`cannot keep both assignments[${j}] and assignments[${index}]: they collide`);
    }
    const other = kept.get(j)!;
    if (keyString(other) === keyString(a) && other.ip === a.ip) {
      drop(index, `exact repeat of assignments[${j}]`, false);
      continue;
    }
    const clash =
      keyString(other) === keyString(a)
        ? `the same attachment holds ${other.ip} in assignments[${j}] (one attachment has one address)`
        : `${a.ip} is also held by assignments[${j}] ${describeEntry(other)}`;
    const choice = `Re-add this entry's Pod (delete it), or repair again with --keep ${index}`;
    drop(index, `${clash}; kept assignments[${j}]. ${choice}`, true);
  }

  // Changes matter only for what is kept.
  for (const index of kept.keys()) {
    for (const why of changes.get(index) ?? []) {
      actions.push({ list: 'assignments', index, entry: describeEntry(assignments[index]), action: 'changed', why });
    }
  }

  // Cooling: never for a kept holder's address; a repeated address keeps its latest time.
  const coolingOut = new Map<string, { ip: string; until: number; index: number }>();
  cooling.forEach((c, index) => {
    const entry = typeof (c as Obj)?.ip === 'string' ? JSON.stringify((c as Obj).ip) : (JSON.stringify(c) ?? String(c));
    const dropC = (why: string) => actions.push({ list: 'cooling', index, entry, action: 'dropped', why });
    const own = coolingFieldProblems(c);
    if (own.length) return dropC(`invalid: ${own.join('; ')}`);
    const { ip, until } = c as { ip: string; until: number };
    const holder = byIp.get(ip);
    if (holder !== undefined) return dropC(`${ip} is assigned to assignments[${holder}], which keeps it`);
    const before = coolingOut.get(ip);
    if (!before) return void coolingOut.set(ip, { ip, until, index });
    const later = until > before.until ? { ip, until, index } : before;
    const loser = later === before ? index : before.index;
    coolingOut.set(ip, later);
    const why = `repeats ${ip}; kept the later until`;
    actions.push({ list: 'cooling', index: loser, entry, action: 'dropped', why });
  });
  const quarantined: Array<{ ip: string; until: number }> = [];
  if (quarantineMs > 0) {
    for (const ip of lostIps) {
      if (byIp.has(ip)) continue;
      const prev = coolingOut.get(ip);
      if (prev && prev.until >= quarantineUntil) continue;
      coolingOut.set(ip, { ip, until: quarantineUntil, index: -1 });
      quarantined.push({ ip, until: quarantineUntil });
    }
  }

  const repaired: CheckpointData = {
    version: CHECKPOINT_VERSION,
    assignments: [...kept.entries()].sort((x, y) => x[0] - y[0]).map(([, a]) => a),
    cooling: [...coolingOut.values()].map(({ ip, until }) => ({ ip, until })),
  };
  const left = inspectCheckpoint(repaired);
  if (left.fatal || left.problems.length) {
    throw new CheckpointError(`repair left problems (a bug): ${JSON.stringify(left)}`);
  }
  actions.sort((x, y) => (x.list === y.list ? x.index - y.index : x.list === 'assignments' ? -1 : 1));
  return { repaired, actions, quarantined };
}
