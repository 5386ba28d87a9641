/**
 * @module checkpoint journal format
 * The journal beside the snapshot (`ipam.json.journal` next to `ipam.json`), one line per durable change:
 *
 *   <crc32 of the JSON, 8 hex> <JSON>\n
 *
 * The first line is the header `{"journal":"vpc-ipam-journal/1","base":"<sha256 of the snapshot file>"}`; each
 * later line a record `{"n":<1, 2, …>,"s":[assignment…],"d":[[network, containerId, ifName]…],
 * "c":[[ip, until]…],"u":[ip…]}`: assignments set (added or changed), attachments deleted, cooldowns set and
 * cooldowns ended. A record is the difference between two states the checkpointer was handed, so replaying the
 * records over the snapshot gives back exactly the last state whose write was acknowledged.
 *
 * The header names the snapshot it extends: a compaction writes a new snapshot and then a new journal, and a
 * crash between the two leaves an old journal whose base is not the snapshot's hash, which is then ignored (the
 * new snapshot already holds all of it). Old records are never replayed over a newer snapshot, so a release
 * already in the snapshot cannot be undone by an older "set".
 *
 * A last line that is incomplete (no newline) or fails its checksum is a torn write: its fdatasync never
 * returned, so no caller was told it was durable, and it is ignored. A bad line followed by a good one is not a
 * torn write but damage, and loading fails naming the file, the record and its byte offset.
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { CheckpointError } from '../../providers/errors.js';
import type { CheckpointData } from './checkpoint.js';
import { keyString, type Assignment } from './types.js';

export const JOURNAL_FORMAT = 'vpc-ipam-journal/1';

export interface JournalRecord {
  n: number;
  s?: Assignment[];
  d?: Array<[string, string, string]>;
  c?: Array<[string, number]>;
  u?: string[];
}

/** What is on disk, as the writer tracks it: assignments by key (as JSON, to compare), cooldowns by address. */
export interface DurableState {
  assignments: Map<string, string>;
  cooling: Map<string, number>;
}

export function snapshotHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function line(value: object): string {
  const json = JSON.stringify(value);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

export function headerLine(base: string): string {
  return line({ journal: JOURNAL_FORMAT, base });
}

export function recordLine(r: JournalRecord): string {
  return line(r);
}

export function durableStateOf(data: CheckpointData): DurableState {
  return {
    assignments: new Map(data.assignments.map((a) => [keyString(a), JSON.stringify(a)])),
    cooling: new Map(data.cooling.map((c) => [c.ip, c.until])),
  };
}

/**
 * The record that takes `from` to `next` (undefined when nothing changed), and `next` as a durable state.
 * Costs one JSON.stringify per assignment, far below the fdatasync it saves.
 */
export function diffState(
  from: DurableState,
  next: CheckpointData,
  n: number,
): { record: JournalRecord | undefined; state: DurableState } {
  const state = durableStateOf(next);
  const r: JournalRecord = { n };
  const s: Assignment[] = [];
  for (const a of next.assignments)
    if (from.assignments.get(keyString(a)) !== state.assignments.get(keyString(a))) s.push(a);
  const d: Array<[string, string, string]> = [];
  for (const k of from.assignments.keys()) {
    if (!state.assignments.has(k)) d.push(k.split('\u0000') as [string, string, string]);
  }
  const c: Array<[string, number]> = [];
  for (const [ip, until] of state.cooling) if (from.cooling.get(ip) !== until) c.push([ip, until]);
  const u = [...from.cooling.keys()].filter((ip) => !state.cooling.has(ip));
  if (s.length) r.s = s;
  if (d.length) r.d = d;
  if (c.length) r.c = c;
  if (u.length) r.u = u;
  return { record: s.length + d.length + c.length + u.length ? r : undefined, state };
}

export interface ParsedJournal {
  /** False when the header names another snapshot (a compaction's leftover): nothing in it applies. */
  applies: boolean;
  records: JournalRecord[];
  /** Bytes of a torn last line that were ignored (0 when the journal ends cleanly). */
  tornBytes: number;
}

type Line = { ok: true; value: Record<string, unknown> } | { ok: false; why: string };

function decode(text: string): Line {
  const m = /^([0-9a-f]{8}) (.*)$/s.exec(text);
  if (!m) return { ok: false, why: 'no checksum' };
  if (crc32(m[2]!).toString(16).padStart(8, '0') !== m[1]) return { ok: false, why: 'checksum mismatch' };
  try {
    const value: unknown = JSON.parse(m[2]!);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, why: 'not an object' };
    return { ok: true, value: value as Record<string, unknown> };
  } catch (err) {
    return { ok: false, why: `not valid JSON (${(err as Error).message})` };
  }
}

/** Parses a journal; `base` is the hash of the snapshot beside it (undefined when there is none). */
export function parseJournal(text: string, base: string | undefined, source: string): ParsedJournal {
  const lines = text.split('\n');
  const tail = lines.pop()!; // '' when the journal ends with a newline; otherwise a write torn mid-line
  const bad = (i: number, why: string): never => {
    const offset = lines.slice(0, i).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    const what = i === 0 ? 'header' : `record ${i}`;
    throw new CheckpointError(`${source}: ${what} (byte offset ${offset}) is corrupt: ${why}`);
  };
  if (lines.length === 0) return { applies: false, records: [], tornBytes: Buffer.byteLength(tail) };
  const head = decode(lines[0]!);
  if (!head.ok) return bad(0, head.why);
  if (head.value.journal !== JOURNAL_FORMAT) return bad(0, `not a ${JOURNAL_FORMAT} journal`);
  if (base === undefined || head.value.base !== base) return { applies: false, records: [], tornBytes: 0 };
  const records: JournalRecord[] = [];
  let tornBytes = Buffer.byteLength(tail);
  for (let i = 1; i < lines.length; i++) {
    const l = decode(lines[i]!);
    if (!l.ok) {
      // Only the last line can be a torn write; the writer never appends after a failed one.
      if (i === lines.length - 1 && tail === '') {
        tornBytes = Buffer.byteLength(lines[i]!) + 1;
        break;
      }
      bad(i, l.why);
    }
    const r = (l as { value: Record<string, unknown> }).value as unknown as JournalRecord;
    const shapeIssue = recordIssue(r, records.length + 1);
    if (shapeIssue) bad(i, shapeIssue);
    records.push(r);
  }
  return { applies: true, records, tornBytes };
}

function recordIssue(r: JournalRecord, n: number): string | undefined {
  if (r.n !== n) return `sequence ${String(r.n)} where ${n} was expected`;
  const list = (v: unknown) => v === undefined || Array.isArray(v);
  if (!list(r.s) || !list(r.d) || !list(r.c) || !list(r.u)) return 's, d, c and u must be lists';
  if (r.d?.some((k) => !Array.isArray(k) || k.length !== 3 || k.some((x) => typeof x !== 'string')))
    return 'd entries must be [network, containerId, ifName]';
  if (r.c?.some((c) => !Array.isArray(c) || typeof c[0] !== 'string' || typeof c[1] !== 'number'))
    return 'c entries must be [ip, until]';
  if (r.s?.some((a) => typeof a !== 'object' || a === null)) return 's entries must be assignments';
  if (r.u?.some((ip) => typeof ip !== 'string')) return 'u entries must be addresses';
  return undefined;
}

/** The snapshot with the records applied, in order (verification is the caller's, on the result). */
export function replay(snapshot: CheckpointData, records: JournalRecord[]): CheckpointData {
  const assignments = new Map(snapshot.assignments.map((a) => [keyString(a), a]));
  const cooling = new Map(snapshot.cooling.map((c) => [c.ip, c.until]));
  for (const r of records) {
    for (const a of r.s ?? []) assignments.set(keyString(a), a);
    for (const [network, containerId, ifName] of r.d ?? [])
      assignments.delete(keyString({ network, containerId, ifName }));
    for (const [ip, until] of r.c ?? []) cooling.set(ip, until);
    for (const ip of r.u ?? []) cooling.delete(ip);
  }
  return {
    version: snapshot.version,
    assignments: [...assignments.values()],
    cooling: [...cooling].map(([ip, until]) => ({ ip, until })),
  };
}
