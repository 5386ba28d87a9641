/**
 * @module CNI environment
 * Parses and validates the `CNI_*` variables before anything touches a path,
 * a socket or the kernel. Pure functions over a plain record (the entry point
 * passes `process.env`; tests pass literals). Netns probing is injected.
 */

import * as fs from 'node:fs';
import { containerIdIssue, ifNameIssue, type IdentifierIssue } from './contract/identifiers.js';
import { BOOL_SPELLINGS, parseBool } from './contract/bool.js';
import { CniCode, CniError, CniIdentifierError, envError } from './errors.js';

export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;
export type CniCommand = (typeof COMMANDS)[number];

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
 * `IgnoreUnknown` is true (`1`, `true`, … as contract/bool.ts reads it; libcni's `types.LoadArgs` rule).
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
    if ([...value].some((c) => c.charCodeAt(0) < 0x20))
      throw envError('CNI_ARGS', `control character in value of ${key}`);
    if (key === 'IgnoreUnknown') {
      // libcni refuses a value it cannot read as a boolean; so do we, with the parser ipamd uses.
      const b = parseBool(value);
      if (b === undefined) {
        throw envError('CNI_ARGS', `IgnoreUnknown=${JSON.stringify(value)}: expected ${BOOL_SPELLINGS}`);
      }
      out.ignoreUnknown = b;
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

/** A `CNI_*` identifier refused by the rules shared with ipamd (code 4, same problem code as ipamd's). */
function refuse(variable: string, i: IdentifierIssue): never {
  throw new CniIdentifierError(CniCode.InvalidEnvironment, variable, i.problem, i.message);
}

/** The CNI spec's rule, as ipamd applies it (cni/contract/identifiers.ts); unset counts as empty. */
export function validateContainerId(id: string | undefined): string {
  const i = containerIdIssue(id ?? '');
  if (i) refuse('CNI_CONTAINERID', i);
  return id!;
}

/** The kernel's interface-name rules, as ipamd applies them (cni/contract/identifiers.ts). */
export function validateIfName(name: string | undefined): string {
  const i = ifNameIssue(name ?? '');
  if (i) refuse('CNI_IFNAME', i);
  return name!;
}

export type NetnsState = 'ok' | 'missing' | 'not-netns' | 'host';

const NSFS_MAGIC = 0x6e736673;

/**
 * `/proc/self` and `/proc/thread-self` mean the plugin to the plugin but
 * ipamd to ipamd, which opens the path in its own process: send the absolute
 * form so both name the same namespace.
 */
export function resolveSelfNetnsPath(path: string, pid = process.pid): string {
  return path.replace(/^\/proc\/(self|thread-self)(?=\/|$)/, (_m, which: string) =>
    which === 'self' ? `/proc/${pid}` : `/proc/${pid}/task/${pid}`,
  );
}

/** Namespaces that are never a Pod's: the one the runtime runs the plugin in (the host's), and PID 1's. */
function hostNamespaces(): Array<{ dev: number; ino: number }> {
  const out: Array<{ dev: number; ino: number }> = [];
  for (const p of ['/proc/self/ns/net', '/proc/1/ns/net']) {
    try {
      const s = fs.statSync(p);
      out.push({ dev: s.dev, ino: s.ino });
    } catch {
      // Unreadable (a restricted /proc): ipamd refuses the same paths again when it opens them.
    }
  }
  return out;
}

/** Real probe: statfs follows /proc/<pid>/ns/net and bind mounts to the nsfs superblock. */
export function probeNetns(path: string): NetnsState {
  try {
    if (fs.statfsSync(path).type !== NSFS_MAGIC) return 'not-netns';
    const s = fs.statSync(path);
    return hostNamespaces().some((h) => h.dev === s.dev && h.ino === s.ino) ? 'host' : 'ok';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH' || code === 'ENOTDIR') return 'missing';
    throw new CniError(CniCode.IoFailure, `CNI_NETNS ${path}: ${code ?? (err as Error).message}`);
  }
}

/**
 * Validates the netns for verbs that need it. ADD/CHECK need an existing
 * netns: a missing one is "container unknown" (3), which tells the runtime
 * there is nothing to clean up; a relative path, a non-netns file or the
 * host's own namespace is an invalid variable (4). DEL tolerates a missing
 * netns (the spec asks it to). Returns the path in the form ipamd must open.
 */
export function validateNetns(
  path: string | undefined,
  required: boolean,
  probe: (p: string) => NetnsState = probeNetns,
): string {
  if (!path) {
    if (required) throw envError('CNI_NETNS', 'missing or empty');
    return '';
  }
  if (!path.startsWith('/') || path.includes('\0') || path.length > 4096)
    throw envError('CNI_NETNS', `${JSON.stringify(path.slice(0, 200))} is not an absolute path`);
  const resolved = resolveSelfNetnsPath(path);
  if (!required) return resolved;
  const state = probe(resolved);
  if (state === 'missing') throw new CniError(CniCode.UnknownContainer, `CNI_NETNS ${path} does not exist`);
  if (state === 'not-netns') throw envError('CNI_NETNS', `${path} is not a network namespace`);
  if (state === 'host')
    throw envError('CNI_NETNS', `${path} is the host's network namespace, not a Pod's; refusing to touch it`);
  return resolved;
}

/**
 * Reads the variables each verb needs (spec Section 2, per-verb "Required
 * environment parameters") and validates them in order: command first, then
 * identity, then paths.
 */
export function parseEnv(env: Record<string, string | undefined>, probe?: (p: string) => NetnsState): CniEnv {
  const cmd = env.CNI_COMMAND;
  if (!cmd) throw envError('CNI_COMMAND', 'missing');
  if (!(COMMANDS as readonly string[]).includes(cmd))
    throw envError('CNI_COMMAND', `unknown command ${JSON.stringify(cmd.slice(0, 40))}`);
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
