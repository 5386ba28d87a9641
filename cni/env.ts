/**
 * @module CNI environment
 * Parses and validates the `CNI_*` variables before anything touches a path,
 * a socket or the kernel. Pure functions over a plain record (the entry point
 * passes `process.env`; tests pass literals). Netns probing is injected.
 */

import * as fs from 'node:fs';
import { CniCode, CniError, envError } from './errors.js';

export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;
export type CniCommand = (typeof COMMANDS)[number];

/** Spec: starts alphanumeric, then alphanumerics, `_`, `.`, `-`. Excludes `/`, a leading `.`, and so `..`. */
export const CONTAINER_ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** Not a spec limit: a guard against absurd input reaching file names and logs. */
const MAX_CONTAINER_ID = 1024;

export interface CniArgs {
  ignoreUnknown: boolean;
  podNamespace?: string;
  podName?: string;
  podInfraContainerId?: string;
  podUid?: string;
  /** Keys we do not use; only accepted with IgnoreUnknown=1. */
  other: Record<string, string>;
}

export interface CniEnv {
  command: CniCommand;
  containerId: string;
  /** Empty when not given (allowed for DEL, STATUS, GC, VERSION). */
  netns: string;
  ifName: string;
  args: CniArgs;
}

const KNOWN_ARGS: Record<string, keyof Omit<CniArgs, 'ignoreUnknown' | 'other'>> = {
  K8S_POD_NAMESPACE: 'podNamespace',
  K8S_POD_NAME: 'podName',
  K8S_POD_INFRA_CONTAINER_ID: 'podInfraContainerId',
  K8S_POD_UID: 'podUid',
};

/**
 * `K=V;K=V` as libcni writes it. Unknown keys are an error unless
 * `IgnoreUnknown` is `1`/`true` (libcni's `types.LoadArgs` rule).
 */
export function parseCniArgs(raw: string | undefined): CniArgs {
  const out: CniArgs = { ignoreUnknown: false, other: {} };
  if (!raw) return out;
  if (raw.length > 8192) throw envError('CNI_ARGS', 'longer than 8192 characters');
  const unknown: string[] = [];
  for (const pair of raw.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw envError('CNI_ARGS', `invalid pair ${JSON.stringify(pair)} (want KEY=VALUE)`);
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (!/^[A-Za-z0-9_.-]+$/.test(key)) throw envError('CNI_ARGS', `invalid key ${JSON.stringify(key)}`);
    if (/[\u0000-\u001f]/.test(value)) throw envError('CNI_ARGS', `control character in value of ${key}`);
    if (key === 'IgnoreUnknown') {
      out.ignoreUnknown = value === '1' || value.toLowerCase() === 'true';
      continue;
    }
    const field = KNOWN_ARGS[key];
    if (field) out[field] = value;
    else {
      out.other[key] = value;
      unknown.push(key);
    }
  }
  if (unknown.length && !out.ignoreUnknown) {
    throw envError('CNI_ARGS', `unknown keys ${unknown.join(', ')} (set IgnoreUnknown=1 to allow)`);
  }
  return out;
}

export function validateContainerId(id: string | undefined): string {
  if (!id) throw envError('CNI_CONTAINERID', 'missing or empty');
  if (id.length > MAX_CONTAINER_ID) throw envError('CNI_CONTAINERID', `longer than ${MAX_CONTAINER_ID} characters`);
  if (!CONTAINER_ID_RE.test(id)) {
    throw envError('CNI_CONTAINERID', `${JSON.stringify(id.slice(0, 80))} must match ${CONTAINER_ID_RE.source}`);
  }
  return id;
}

/** Linux rules as the spec states them: 1-15 bytes, not `.`/`..`, no `/`, `:` or whitespace. */
export function validateIfName(name: string | undefined): string {
  if (!name) throw envError('CNI_IFNAME', 'missing or empty');
  if (Buffer.byteLength(name) > 15) throw envError('CNI_IFNAME', `${JSON.stringify(name)} is longer than 15 bytes`);
  if (name === '.' || name === '..') throw envError('CNI_IFNAME', `${JSON.stringify(name)} is not allowed`);
  if (/[/:\s]/.test(name) || /[\u0000-\u001f\u007f]/.test(name)) {
    throw envError('CNI_IFNAME', `${JSON.stringify(name)} contains '/', ':', whitespace or a control character`);
  }
  return name;
}

export type NetnsState = 'ok' | 'missing' | 'not-netns';

const NSFS_MAGIC = 0x6e736673;

/** Real probe: statfs follows /proc/<pid>/ns/net and bind mounts to the nsfs superblock. */
export function probeNetns(path: string): NetnsState {
  try {
    return fs.statfsSync(path).type === NSFS_MAGIC ? 'ok' : 'not-netns';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH' || code === 'ENOTDIR') return 'missing';
    throw new CniError(CniCode.IoFailure, `CNI_NETNS ${path}: ${code ?? (err as Error).message}`);
  }
}

/**
 * Validates the netns for verbs that need it. ADD/CHECK need an existing
 * netns: a missing one is "container unknown" (3), which tells the runtime
 * there is nothing to clean up; a relative path or a non-netns file is an
 * invalid variable (4). DEL tolerates a missing netns (the spec asks it to).
 */
export function validateNetns(path: string | undefined, required: boolean, probe: (p: string) => NetnsState = probeNetns): string {
  if (!path) {
    if (required) throw envError('CNI_NETNS', 'missing or empty');
    return '';
  }
  if (!path.startsWith('/') || path.includes('\0') || path.length > 4096) throw envError('CNI_NETNS', `${JSON.stringify(path.slice(0, 200))} is not an absolute path`);
  if (!required) return path;
  const state = probe(path);
  if (state === 'missing') throw new CniError(CniCode.UnknownContainer, `CNI_NETNS ${path} does not exist`);
  if (state === 'not-netns') throw envError('CNI_NETNS', `${path} is not a network namespace`);
  return path;
}

/**
 * Reads the variables each verb needs (spec Section 2, per-verb "Required
 * environment parameters") and validates them in order: command first, then
 * identity, then paths.
 */
export function parseEnv(env: Record<string, string | undefined>, probe?: (p: string) => NetnsState): CniEnv {
  const cmd = env.CNI_COMMAND;
  if (!cmd) throw envError('CNI_COMMAND', 'missing');
  if (!(COMMANDS as readonly string[]).includes(cmd)) throw envError('CNI_COMMAND', `unknown command ${JSON.stringify(cmd.slice(0, 40))}`);
  const command = cmd as CniCommand;
  if (command === 'VERSION' || command === 'STATUS' || command === 'GC') {
    return { command, containerId: '', netns: '', ifName: '', args: parseCniArgs(undefined) };
  }
  const containerId = validateContainerId(env.CNI_CONTAINERID);
  const ifName = validateIfName(env.CNI_IFNAME);
  const args = parseCniArgs(env.CNI_ARGS);
  const netns = validateNetns(env.CNI_NETNS, command !== 'DEL', probe);
  return { command, containerId, netns, ifName, args };
}
