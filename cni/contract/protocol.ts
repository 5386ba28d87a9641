/**
 * @module local API protocol
 * What the CNI plugin and ipamd say to each other over the root-only Unix
 * socket: one JSON object per line each way, one request per connection (the
 * plugin is a short-lived process). Every request carries `v`; ipamd refuses
 * a protocol it does not speak with code `BAD_VERSION` instead of guessing.
 */

export const PROTOCOL_VERSION = 1;
export const DEFAULT_SOCKET_PATH = '/run/vpc-ipam/ipamd.sock';

/**
 * Size limits of one request line (bytes, newline excluded), sized from what a valid request can hold:
 * - any op but `gc`: the longest fields are a 4 KiB netns path (PATH_MAX), two 253-character Pod names and a
 *   256-character container ID: about 5.3 KiB, so 8 KiB;
 * - `gc`: `valid` lists the node's attachments, at most {@link MAX_GC_ATTACHMENTS} (EKS's largest max-pods with
 *   prefix delegation is 737; AKS and GKE stop at 250 and 256). An entry is at most 317 bytes (256-character ID,
 *   a 15-byte interface name whose `"` and `\` JSON doubles, keys and punctuation), so 1024 of them and a
 *   128-character network name fit 320 KiB: every gc request the validator accepts fits the line.
 */
export const MAX_REQUEST_LINE_BYTES = 8 * 1024;
export const MAX_GC_ATTACHMENTS = 1024;
export const MAX_GC_LINE_BYTES = 320 * 1024;
/**
 * `exec` carries a whole network configuration (the plugin's stdin, prevResult included) as a JSON string.
 * The shim (cni/shim/) sends it only when the escaped line fits this limit and runs the Node plugin otherwise,
 * so a large configuration still works, at the single executable's cost. ipamd refuses a longer exec line as
 * soon as it knows (server/socket-server.ts), before parsing it.
 */
export const MAX_EXEC_LINE_BYTES = 1024 * 1024;
/** The only variables an `exec` request may carry: what the plugin reads (cni/env.ts), nothing of the host's. */
export const EXEC_ENV_KEYS = [
  'CNI_COMMAND',
  'CNI_CONTAINERID',
  'CNI_NETNS',
  'CNI_IFNAME',
  'CNI_ARGS',
  'CNI_PATH',
] as const;
export type ExecEnvKey = (typeof EXEC_ENV_KEYS)[number];

/** CNI cache key: (network name, container ID, interface name). */
export interface AttachmentKey {
  network: string;
  containerId: string;
  ifName: string;
}

export interface PodRef {
  namespace?: string;
  name?: string;
  uid?: string;
}

/** Host-side plumbing request: present when ipamd should wire the Pod netns. */
export interface NetnsSpec {
  /** CNI_NETNS, e.g. /var/run/netns/x or /proc/123/ns/net. */
  path: string;
  mtu?: number;
}

export interface AddRequest extends AttachmentKey {
  v: number;
  op: 'add';
  pod?: PodRef;
  netns?: NetnsSpec;
  /** How long the caller is willing to wait for the pool to grow, ms. */
  waitMs?: number;
}

export interface DelRequest extends AttachmentKey {
  v: number;
  op: 'del';
  netns?: NetnsSpec;
}

export interface CheckRequest extends AttachmentKey {
  v: number;
  op: 'check';
  netns?: NetnsSpec;
}

export interface StatusRequest {
  v: number;
  op: 'status';
}

export interface GcRequest {
  v: number;
  op: 'gc';
  network: string;
  /** Attachments to keep; every other attachment of `network` is released. */
  valid: Array<{ containerId: string; ifName: string }>;
}

export interface HelloRequest {
  v: number;
  op: 'hello';
}

/**
 * One CNI invocation run by ipamd itself (ipamd/api/plugin-host.ts), for the compiled shim the runtime execs
 * (cni/shim/vpc-ipam-shim.c): the plugin's environment and stdin, as the runtime gave them. ipamd runs the same
 * plugin code on them as the single executable would, validation first; the answer is the plugin's exit status
 * and stdout ({@link ExecResponse}). An ipamd that does not know the op answers BAD_REQUEST and the shim runs the
 * single executable instead.
 */
export interface ExecRequest {
  v: number;
  op: 'exec';
  env: Partial<Record<ExecEnvKey, string>>;
  /** The network configuration, the bytes of the plugin's stdin read as UTF-8. */
  stdin: string;
}

export type Request = AddRequest | DelRequest | CheckRequest | StatusRequest | GcRequest | HelloRequest | ExecRequest;

/** What ipamd tells the plugin about an assigned address. */
export interface Allocation {
  ip: string;
  /** Always 32 for IPv4 Pod addresses. */
  prefixLength: number;
  gateway: string;
  interfaceId: string;
  deviceIndex: number;
  /** Policy-routing table for addresses on secondary interfaces (deviceIndex + 1); 0 = main. */
  routeTable: number;
  subnetCidr: string;
  vpcCidrs: string[];
  /** Host-side veth name, when ipamd did the plumbing. */
  hostIf?: string;
  /** Host-side veth MAC, when ipamd did the plumbing. */
  hostMac?: string;
  /** Pod-side interface MAC, when ipamd did the plumbing. */
  podMac?: string;
}

export interface PoolStatus {
  ready: boolean;
  /** Why not ready (empty and cannot grow, initialising, ...). */
  reason?: string;
  total: number;
  assigned: number;
  available: number;
  cooling: number;
}

export interface ErrorBody {
  code: string;
  msg: string;
  details?: string;
  /** The plugin should answer "try again later" (CNI code 11). */
  retryable?: boolean;
}

export type Response =
  | { ok: true; allocation: Allocation; existing?: boolean }
  | { ok: true; released: boolean }
  | { ok: true; status: PoolStatus }
  | { ok: true; released: number }
  | { ok: true; protocol: number; version: string }
  | ExecResponse
  | { ok: false; error: ErrorBody };

/** What the plugin would have done: its exit status and everything it wrote to stdout. */
export interface ExecResponse {
  ok: true;
  exitCode: number;
  stdout: string;
}
