/**
 * @module veth name
 * The host-side veth name of an attachment, computed the same way by ipamd (which creates it) and by the CNI
 * executable (which tears it down when ipamd is unreachable): part of their contract. Two namings:
 * - the attachment's (AWS_VPC_K8S_CNI_VETHPREFIX unset or `vpc`): `vpc` + a hash of (containerId, ifName), the
 *   names every node had before the prefix was honoured, kept so those nodes keep them;
 * - the AWS VPC CNI's (the prefix set): `<prefix>` + 11 hex of sha1("<namespace>.<name>") of the Pod, as its
 *   pkg/networkutils/names.go `GeneratePodHostVethName` with index 0. Calico (policy-only mode, interfacePrefix
 *   `eni`) derives the same name from the workload, and aws-node's restart check finds the veth by that suffix
 *   after a rollback. A request without the Pod's namespace and name falls back to the attachment's hash (with the
 *   prefix); so does any interface but `eth0`, because the AWS name is the Pod's and a second interface of the
 *   same Pod (Multus) would otherwise take, and on ADD replace, the first one's veth.
 * Every name is at most 4 + 11 = 15 characters (IFNAMSIZ).
 */
import { createHash } from 'node:crypto';

/** The prefix of the attachment naming, and what AWS_VPC_K8S_CNI_VETHPREFIX=vpc asks for. */
export const DEFAULT_VETH_PREFIX = 'vpc';
/** The Pod interface the AWS naming applies to (CNI_IFNAME of a Pod's first interface). */
const POD_IF = 'eth0';
const SUFFIX_HEX = 11;
const PREFIX_RE = /^[a-z0-9]{1,4}$/;
/** Prefixes the AWS CNI reserves for links it does not own (its cmd/aws-vpc-cni/main.go validation). */
const RESERVED_PREFIXES = ['eth', 'lo', 'vlan'];

/** Any name {@link hostVethNameFor} can produce, under any valid prefix: a 1–4 character prefix and 11 hex. */
export const HOST_VETH_NAME_RE = /^[a-z0-9]{1,4}[0-9a-f]{11}$/;

export interface VethKey {
  containerId: string;
  ifName: string;
  /** K8S_POD_NAMESPACE / K8S_POD_NAME of the request, when the runtime gave them. */
  pod?: { namespace?: string; name?: string };
}

export interface VethNaming {
  /** A validated AWS_VPC_K8S_CNI_VETHPREFIX; undefined (or `vpc`): the attachment naming. */
  prefix?: string;
}

/**
 * Why `prefix` cannot be a host veth prefix (the AWS CNI's rules: at most 4 characters, not eth/lo/vlan; ours
 * too: only a-z and 0-9, so the name stays a valid `-i <prefix>+` match and a valid link name); undefined if it can.
 */
export function vethPrefixProblem(prefix: string): string | undefined {
  if (!PREFIX_RE.test(prefix)) return `expected 1 to 4 characters of a-z and 0-9, got "${prefix}"`;
  if (RESERVED_PREFIXES.includes(prefix)) return `"${prefix}" is reserved (eth, lo and vlan name other links)`;
  return undefined;
}

/**
 * The attachment naming: `prefix` + 11 hex chars of a hash of (containerId, ifName). Stable, so DEL finds it
 * from the key alone.
 */
export function hostVethName(containerId: string, ifName: string, prefix = DEFAULT_VETH_PREFIX): string {
  return `${prefix}${attachmentSuffix(containerId, ifName)}`;
}

/** The AWS VPC CNI's `GeneratePodHostVethName(prefix, namespace, name, 0)`. */
export function awsHostVethName(prefix: string, podNamespace: string, podName: string): string {
  return `${prefix}${podSuffix(podNamespace, podName)}`;
}

/** The host veth name of `key` under `naming` (see the module comment for which naming applies when). */
export function hostVethNameFor(key: VethKey, naming: VethNaming = {}): string {
  const prefix = naming.prefix ?? DEFAULT_VETH_PREFIX;
  if (prefix === DEFAULT_VETH_PREFIX || !podNamed(key)) return hostVethName(key.containerId, key.ifName, prefix);
  return awsHostVethName(prefix, key.pod!.namespace!, key.pod!.name!);
}

/**
 * Whether `name` is named after the attachment (containerId, ifName) under its own prefix. When it is not, it is
 * named after the Pod, and an older sandbox of a Pod with the same namespace and name computes the same name: that
 * sandbox's DEL must not tear down the newer one's veth.
 */
export function isAttachmentNamed(name: string, containerId: string, ifName: string): boolean {
  const prefix = vethPrefixOf(name);
  return prefix !== undefined && name === hostVethName(containerId, ifName, prefix);
}

/**
 * The suffixes `key`'s veth can carry under any prefix: how a veth wired before the prefix was changed is
 * still found (a name of {@link HOST_VETH_NAME_RE} ending with one of them).
 */
export function hostVethSuffixes(key: VethKey): string[] {
  const own = attachmentSuffix(key.containerId, key.ifName);
  return podNamed(key) ? [own, podSuffix(key.pod!.namespace!, key.pod!.name!)] : [own];
}

/** The prefix of a name of {@link HOST_VETH_NAME_RE} (the suffix has a fixed length); undefined for others. */
export function vethPrefixOf(name: string): string | undefined {
  return HOST_VETH_NAME_RE.test(name) ? name.slice(0, -SUFFIX_HEX) : undefined;
}

function podNamed(key: VethKey): boolean {
  return key.ifName === POD_IF && !!key.pod?.namespace && !!key.pod?.name;
}

function attachmentSuffix(containerId: string, ifName: string): string {
  // FNV-1a 64-bit: collisions irrelevant at node scale.
  let h = 0xcbf29ce484222325n;
  for (const ch of `${containerId}/${ifName}`) {
    h ^= BigInt(ch.charCodeAt(0));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0').slice(0, SUFFIX_HEX);
}

function podSuffix(podNamespace: string, podName: string): string {
  return createHash('sha1').update(`${podNamespace}.${podName}`).digest('hex').slice(0, SUFFIX_HEX);
}
