/**
 * @module identifiers
 * The one rule book for the names that cross the socket: container IDs,
 * interface names and network names. The plugin (cni/env.ts, cni/config.ts,
 * cni/commands.ts), ipamd's request parser (api/validate.ts), the checkpoint
 * verifier and the netlink plumber all ask these functions, so a name one
 * side accepts is never refused by the other, and both refuse with the same
 * stable `problem` code. No imports: this file is bundled into the plugin.
 *
 * The rules (decisions in docs/decisions.md, "Identifiers"):
 * - container ID and network name: the CNI spec's `^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`
 *   and nothing else (`a..b` is valid: without `/` it cannot traverse, and
 *   the leading alphanumeric excludes `.` and `..`). The spec and libcni set no
 *   length; we cap container IDs at 256 characters (runtimes use 64) so one
 *   cannot bloat logs, requests or the checkpoint, and network names at 128.
 * - interface name: what the kernel's dev_valid_name() takes (1–15 bytes, not
 *   `.`/`..`, no `/`, `:` or whitespace; measured: `a:b` is EINVAL on 6.18),
 *   minus `%` (the kernel expands `eth%d` to another name than the one asked
 *   for) and control characters (the kernel takes them; logs and terminals
 *   should not).
 */

export type IdentifierKind = 'containerId' | 'ifName' | 'network';
/** Stable codes; tests and callers compare these, never the message. */
export type IdentifierProblem = 'NOT_A_STRING' | 'EMPTY' | 'TOO_LONG' | 'BAD_CHARACTER' | 'RESERVED';

export interface IdentifierIssue {
  kind: IdentifierKind;
  problem: IdentifierProblem;
  message: string;
}

/** The CNI spec's rule for container IDs and network names. */
export const CNI_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
export const MAX_CONTAINER_ID = 256;
export const MAX_NETWORK_NAME = 128;
/** IFNAMSIZ (16) minus the terminating NUL. */
export const MAX_IFNAME_BYTES = 15;

// Whitespace (\s covers the ASCII and Unicode spaces), C0/C1 controls and DEL (\p{Cc}: U+0000-001F, U+007F-009F),
// and the three refused ASCII signs.
const IFNAME_BAD_CHAR = /[\s\p{Cc}/:%]/u;

const show = (s: string) => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
const issue = (kind: IdentifierKind, problem: IdentifierProblem, message: string): IdentifierIssue => ({
  kind,
  problem,
  message,
});

function cniName(kind: 'containerId' | 'network', what: string, max: number, v: unknown): IdentifierIssue | undefined {
  if (typeof v !== 'string') return issue(kind, 'NOT_A_STRING', `${what} must be a string`);
  if (v === '') return issue(kind, 'EMPTY', `${what} is empty`);
  if (v.length > max) return issue(kind, 'TOO_LONG', `${what} is ${v.length} characters; at most ${max} are accepted`);
  if (!CNI_NAME_RE.test(v)) return issue(kind, 'BAD_CHARACTER', `${what} ${show(v)} must match ${CNI_NAME_RE.source}`);
  return undefined;
}

/** Undefined when `v` is a valid container ID. */
export function containerIdIssue(v: unknown): IdentifierIssue | undefined {
  return cniName('containerId', 'container ID', MAX_CONTAINER_ID, v);
}

/** Undefined when `v` is a valid network name. */
export function networkNameIssue(v: unknown): IdentifierIssue | undefined {
  return cniName('network', 'network name', MAX_NETWORK_NAME, v);
}

/** Undefined when `v` is a valid interface name (for the Pod side or a host link). */
export function ifNameIssue(v: unknown): IdentifierIssue | undefined {
  const kind = 'ifName';
  if (typeof v !== 'string') return issue(kind, 'NOT_A_STRING', 'interface name must be a string');
  if (v === '') return issue(kind, 'EMPTY', 'interface name is empty');
  const bytes = Buffer.byteLength(v, 'utf8');
  if (bytes > MAX_IFNAME_BYTES) {
    const why = `is ${bytes} bytes; the kernel allows at most ${MAX_IFNAME_BYTES}`;
    return issue(kind, 'TOO_LONG', `interface name ${show(v)} ${why}`);
  }
  if (v === '.' || v === '..') return issue(kind, 'RESERVED', `interface name ${show(v)} is not allowed`);
  const bad = IFNAME_BAD_CHAR.exec(v);
  if (bad) {
    const rule = '(no "/", ":", "%", whitespace or control characters)';
    return issue(kind, 'BAD_CHARACTER', `interface name ${show(v)} contains ${JSON.stringify(bad[0])} ${rule}`);
  }
  return undefined;
}

/** The check for each kind, for callers that validate by field. */
export const IDENTIFIER_CHECKS: Record<IdentifierKind, (v: unknown) => IdentifierIssue | undefined> = {
  containerId: containerIdIssue,
  ifName: ifNameIssue,
  network: networkNameIssue,
};
