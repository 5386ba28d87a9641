/**
 * @module checkpoint verification
 * A checkpoint can be valid JSON of the right version and still be unusable:
 * two entries holding one address, one attachment listed twice, an `ip` that
 * is no address, a container ID that could reach a path, a cooling entry for
 * an address someone holds. Restoring such a file gives one address two
 * holders, so ipamd refuses to start on it, naming every entry, and
 * `vpc-ipamctl checkpoint verify|repair` report and fix it (checkpoint-repair.ts).
 *
 * Identity fields are judged by the socket's rule book (api/identifiers.ts):
 * a name the socket would refuse cannot sit in the checkpoint either.
 */
import { CheckpointError } from '../../providers/errors.js';
import { containerIdIssue, ifNameIssue, networkNameIssue } from '../../cni/contract/identifiers.js';
import { containsAddress } from '../../providers/net/cidr.js';
import { keyString } from './types.js';

export const CHECKPOINT_VERSION = 'vpc-ipam/1';

/**
 * - `invalid`: an identity field (network, containerId, ifName, ip) is unusable: the entry names no attachment.
 * - `fixable`: bookkeeping (interfaceId, blockCidr, pod, assignedAt) is wrong; ipamd could rebuild it.
 * - `duplicate-key`: the attachment is listed before (`conflictsWith`).
 * - `duplicate-ip`: another attachment listed before holds the address (`conflictsWith`).
 * - `cooling-invalid`, `cooling-duplicate`, `cooling-assigned`: cooling entries that are unusable,
 *   repeated, or for an address an assignment holds.
 */
export type ProblemKind =
  | 'invalid'
  | 'fixable'
  | 'duplicate-key'
  | 'duplicate-ip'
  | 'cooling-invalid'
  | 'cooling-duplicate'
  | 'cooling-assigned';

export interface CheckpointProblem {
  list: 'assignments' | 'cooling';
  index: number;
  kind: ProblemKind;
  /** What can be read of the entry: `network/containerId/ifName ip`. */
  entry: string;
  what: string;
  /** The earlier entry this one collides with (an index into `assignments`). */
  conflictsWith?: number;
}

export interface CheckpointInspection {
  /** The file as a whole is unusable (not JSON, another version, no lists): no entry can be judged. */
  fatal?: string;
  problems: CheckpointProblem[];
}

type Obj = Record<string, unknown>;

/** Dotted quad, no leading zeros: the datastore keys addresses by string, so `10.0.0.05` would be a second key. */
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const CIDR_RE = /^(\d{1,3}(\.\d{1,3}){3})\/(\d|[12]\d|3[0-2])$/;

export function isCanonicalIpv4(v: unknown): v is string {
  return typeof v === 'string' && IPV4_RE.test(v);
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown) =>
  typeof v === 'string' ? JSON.stringify(v.slice(0, 80)) : (JSON.stringify(v) ?? String(v));

/** `network/containerId/ifName ip`, with `?` for what is unreadable. */
export function describeEntry(a: unknown): string {
  if (!isObj(a)) return show(a);
  const part = (v: unknown) => (typeof v === 'string' && v.length <= 256 ? v : '?');
  return `${part(a.network)}/${part(a.containerId)}/${part(a.ifName)} ${typeof a.ip === 'string' ? show(a.ip) : '?'}`;
}

export const POD_FIELDS = ['namespace', 'name', 'uid'] as const;

/** Problems of one assignment's own fields. */
export function assignmentFieldProblems(a: unknown): Array<{ kind: 'invalid' | 'fixable'; what: string }> {
  if (!isObj(a)) return [{ kind: 'invalid', what: 'not an object' }];
  const out: Array<{ kind: 'invalid' | 'fixable'; what: string }> = [];
  for (const [field, issue] of [
    ['network', networkNameIssue(a.network)],
    ['containerId', containerIdIssue(a.containerId)],
    ['ifName', ifNameIssue(a.ifName)],
  ] as const) {
    if (issue) out.push({ kind: 'invalid', what: `${field}: ${issue.message} (${issue.problem})` });
  }
  if (!isCanonicalIpv4(a.ip)) out.push({ kind: 'invalid', what: `ip ${show(a.ip)} is not an IPv4 address` });
  if (typeof a.interfaceId !== 'string' || a.interfaceId === '' || a.interfaceId.length > 256) {
    out.push({ kind: 'fixable', what: `interfaceId ${show(a.interfaceId)} is not an interface id` });
  }
  const block = a.blockCidr;
  if (typeof block !== 'string' || !CIDR_RE.test(block) || !isCanonicalIpv4(block.split('/')[0])) {
    out.push({ kind: 'fixable', what: `blockCidr ${show(block)} is not an IPv4 CIDR` });
  } else if (isCanonicalIpv4(a.ip) && !containsAddress(block, a.ip)) {
    out.push({ kind: 'fixable', what: `blockCidr ${block} does not contain ${a.ip}` });
  }
  const pod = a.pod;
  const podOk = isObj(pod) && POD_FIELDS.every((k) => pod[k] === undefined || typeof pod[k] === 'string');
  if (!podOk) out.push({ kind: 'fixable', what: `pod ${show(pod)} is not {namespace?, name?, uid?}` });
  if (typeof a.assignedAt !== 'number' || !Number.isFinite(a.assignedAt) || a.assignedAt < 0) {
    out.push({ kind: 'fixable', what: `assignedAt ${show(a.assignedAt)} is not a time` });
  }
  return out;
}

/** Problems of one cooling entry's own fields. */
export function coolingFieldProblems(c: unknown): string[] {
  if (!isObj(c)) return ['not an object'];
  const out: string[] = [];
  if (!isCanonicalIpv4(c.ip)) out.push(`ip ${show(c.ip)} is not an IPv4 address`);
  if (typeof c.until !== 'number' || !Number.isFinite(c.until)) out.push(`until ${show(c.until)} is not a time`);
  return out;
}

/** The whole-file checks; undefined when the lists can be judged entry by entry. */
export function fatalProblem(data: unknown): string | undefined {
  if (!isObj(data)) return 'not a JSON object';
  if (data.version !== CHECKPOINT_VERSION) {
    return `version ${show(data.version)} is not ${CHECKPOINT_VERSION}; refusing to guess`;
  }
  if (!Array.isArray(data.assignments) || !Array.isArray(data.cooling)) return 'missing assignments or cooling list';
  return undefined;
}

/** Every problem, in file order. Collisions are judged among entries whose identity fields are valid. */
export function inspectCheckpoint(data: unknown): CheckpointInspection {
  const fatal = fatalProblem(data);
  if (fatal) return { fatal, problems: [] };
  const { assignments, cooling } = data as { assignments: unknown[]; cooling: unknown[] };
  const problems: CheckpointProblem[] = [];
  const byKey = new Map<string, number>();
  const byIp = new Map<string, number>();
  assignments.forEach((a, index) => {
    const entry = describeEntry(a);
    const own = assignmentFieldProblems(a);
    for (const p of own) problems.push({ list: 'assignments', index, kind: p.kind, entry, what: p.what });
    if (own.some((p) => p.kind === 'invalid')) return;
    const e = a as { network: string; containerId: string; ifName: string; ip: string };
    const key = keyString(e);
    const sameKey = byKey.get(key);
    if (sameKey !== undefined) {
      const first = (assignments[sameKey] as { ip: string }).ip;
      const what =
        first === e.ip
          ? `repeats assignments[${sameKey}] (same attachment, same address)`
          : `the attachment already holds ${first} in assignments[${sameKey}]; one attachment has one address`;
      problems.push({ list: 'assignments', index, kind: 'duplicate-key', entry, what, conflictsWith: sameKey });
      return;
    }
    byKey.set(key, index);
    const sameIp = byIp.get(e.ip);
    if (sameIp !== undefined) {
      const what = `${e.ip} is already held by assignments[${sameIp}] (${describeEntry(assignments[sameIp])})`;
      problems.push({ list: 'assignments', index, kind: 'duplicate-ip', entry, what, conflictsWith: sameIp });
      return;
    }
    byIp.set(e.ip, index);
  });
  const coolingSeen = new Map<string, number>();
  cooling.forEach((c, index) => {
    const entry = isObj(c) && typeof c.ip === 'string' ? show(c.ip) : show(c);
    const own = coolingFieldProblems(c);
    for (const what of own) problems.push({ list: 'cooling', index, kind: 'cooling-invalid', entry, what });
    if (own.length) return;
    const ip = (c as { ip: string }).ip;
    const holder = byIp.get(ip);
    if (holder !== undefined) {
      const what = `${ip} is cooling and assigned at once (held by assignments[${holder}])`;
      problems.push({ list: 'cooling', index, kind: 'cooling-assigned', entry, what, conflictsWith: holder });
      return;
    }
    const before = coolingSeen.get(ip);
    if (before !== undefined) {
      const what = `${ip} repeats cooling[${before}]`;
      problems.push({ list: 'cooling', index, kind: 'cooling-duplicate', entry, what });
      return;
    }
    coolingSeen.set(ip, index);
  });
  return { problems };
}

export function formatProblem(p: CheckpointProblem): string {
  return `${p.list}[${p.index}] ${p.entry}: ${p.what}`;
}

/** Throws a CheckpointError naming `source` and every problem (the first 20 in the message). */
export function assertCheckpointConsistent(data: unknown, source: string): void {
  const r = inspectCheckpoint(data);
  if (r.fatal) throw new CheckpointError(`${source}: ${r.fatal}`);
  if (!r.problems.length) return;
  const shown = r.problems.slice(0, 20).map(formatProblem);
  if (r.problems.length > shown.length) shown.push(`… and ${r.problems.length - shown.length} more`);
  throw new CheckpointError(
    `${source}: inconsistent checkpoint, ${r.problems.length} problem(s); refusing to start. ` +
      `Review: vpc-ipamctl checkpoint verify --file ${source}; ` +
      `a reviewed copy: vpc-ipamctl checkpoint repair --file ${source}. ` +
      shown.join('; '),
  );
}
