/**
 * @module AWS VPC CNI checkpoint (read and write)
 * The AWS CNI's own record of assigned addresses, `/var/run/aws-node/ipam.json`, in its exact format:
 * `CheckpointData` / `CheckpointEntry` / `IPAMKey` / `IPAMMetadata` and `CheckpointFormatVersion =
 * "vpc-cni-ipam/1"` in pkg/ipamd/datastore/data_store.go, written by `JSONFile.Checkpoint` in
 * pkg/ipamd/datastore/checkpoint.go (aws/amazon-vpc-cni-k8s @b52188387f2e, v1.23.1). The AWS CNI refuses any
 * other version (`ReadBackingStore`), and so do we. Read strictly: every entry must be usable, or the file is
 * refused naming the entry; a missing file is a node without Pods, as for the AWS CNI.
 *
 * Written back (rollback, ./rollback-checkpointer.ts) the same way the AWS CNI writes it: a temp file beside
 * it, fsync, rename.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { containerIdIssue, ifNameIssue, networkNameIssue } from '../../cni/contract/identifiers.js';
import { isCanonicalIpv4 } from '../datastore/checkpoint-verify.js';
import { AdoptionRefusedError } from './errors.js';

export const AWS_CHECKPOINT_VERSION = 'vpc-cni-ipam/1';
/** The AWS CNI's network name (its conflist's `name`): the key its DEL looks allocations up by. */
export const AWS_NETWORK_NAME = 'aws-cni';
/** Placeholder key of entries rebuilt from CRI before v1.12 (data_store.go); they have no real ifName. */
export const MIGRATED_FROM_CRI = '_migrated-from-cri';

export interface AwsAllocation {
  networkName: string;
  containerID: string;
  ifName: string;
  ipv4?: string;
  ipv6?: string;
  /** Unix nanoseconds (Go's `time.UnixNano`). */
  allocationTimestamp: number;
  metadata: { k8sPodNamespace?: string; k8sPodName?: string; interfacesCount?: number };
}

export interface AwsCheckpoint {
  version: typeof AWS_CHECKPOINT_VERSION;
  allocations: AwsAllocation[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const optString = (v: unknown) => v === undefined || typeof v === 'string';

/** `containerID/ifName ip` of an entry, as far as it can be read. */
export function describeAwsEntry(e: unknown): string {
  if (!isObj(e)) return JSON.stringify(e) ?? String(e);
  const s = (v: unknown) => (typeof v === 'string' ? v.slice(0, 80) : '?');
  return `${s(e.containerID)}/${s(e.ifName)} ${s(e.ipv4 ?? e.ipv6)}`;
}

function entryProblem(e: unknown): string | undefined {
  if (!isObj(e)) return 'not an object';
  if (e.networkName === MIGRATED_FROM_CRI) return undefined; // refused later, by name (./adoption-plan.ts)
  for (const [field, issue] of [
    ['networkName', networkNameIssue(e.networkName)],
    ['containerID', containerIdIssue(e.containerID)],
    ['ifName', ifNameIssue(e.ifName)],
  ] as const) {
    if (issue) return `${field}: ${issue.message}`;
  }
  if (!optString(e.ipv4) || !optString(e.ipv6)) return 'ipv4/ipv6 must be strings';
  if (e.ipv4 === undefined && e.ipv6 === undefined) return 'neither ipv4 nor ipv6';
  if (e.ipv4 !== undefined && !isCanonicalIpv4(e.ipv4)) return `ipv4 ${JSON.stringify(e.ipv4)} is not an address`;
  const ts = e.allocationTimestamp;
  if (typeof ts !== 'number' || !Number.isFinite(ts) || ts < 0) return 'allocationTimestamp is not a time';
  const m = e.metadata;
  if (m !== undefined && !isObj(m)) return 'metadata is not an object';
  if (m && (!optString(m.k8sPodNamespace) || !optString(m.k8sPodName))) return 'metadata names must be strings';
  return undefined;
}

/** Decodes and validates the file's text; throws {@link AdoptionRefusedError} naming the first bad entry. */
export function parseAwsCheckpoint(text: string, source: string): AwsCheckpoint {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new AdoptionRefusedError('checkpoint-unreadable', source, `not valid JSON (${(err as Error).message})`);
  }
  if (!isObj(data)) throw new AdoptionRefusedError('checkpoint-invalid', source, 'not a JSON object');
  if (data.version !== AWS_CHECKPOINT_VERSION) {
    const v = JSON.stringify(data.version);
    throw new AdoptionRefusedError('checkpoint-version', source, `version ${v} is not ${AWS_CHECKPOINT_VERSION}`);
  }
  // Go encodes an empty slice of a fresh node as null.
  const list = data.allocations ?? [];
  if (!Array.isArray(list)) throw new AdoptionRefusedError('checkpoint-invalid', source, 'allocations is not a list');
  list.forEach((e, i) => {
    const problem = entryProblem(e);
    if (problem) throw new AdoptionRefusedError('checkpoint-invalid', `${source} allocations[${i}]`, problem);
  });
  const allocations = (list as AwsAllocation[]).map((e) => ({ ...e, metadata: e.metadata ?? {} }));
  return { version: AWS_CHECKPOINT_VERSION, allocations };
}

/** Undefined when there is no file (a node without Pods, as the AWS CNI reads it). */
export async function readAwsCheckpoint(file: string): Promise<AwsCheckpoint | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AdoptionRefusedError('checkpoint-unreadable', file, (err as Error).message);
  }
  return parseAwsCheckpoint(text, file);
}

/** The file's text as the AWS CNI's encoder writes it (json.Encoder: one line, newline-terminated). */
export function renderAwsCheckpoint(allocations: readonly AwsAllocation[]): string {
  return `${JSON.stringify({ version: AWS_CHECKPOINT_VERSION, allocations })}\n`;
}

/** As `JSONFile.Checkpoint`: temp file beside the target, fsync, rename; the temp is removed on failure. */
export async function writeAwsCheckpoint(file: string, allocations: readonly AwsAllocation[]): Promise<void> {
  const tmp = path.join(path.dirname(file), `${path.basename(file)}.tmp${process.pid}`);
  try {
    const fh = await fs.open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(renderAwsCheckpoint(allocations));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
}
