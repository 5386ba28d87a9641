/**
 * @module k8s client
 * Builds the `@kubernetes/client-node` APIs from the typed connection settings
 * (ipamd/config/kube-connection.ts: KUBECONFIG, or the in-cluster service
 * account). This module is imported lazily by run.ts: the client costs
 * ~700 ms of start-up, which a daemon started without `MY_NODE_NAME` must not
 * pay. In-cluster, the token is read again whenever the kubelet rotates the
 * file (token-file.ts), the CA file on every connection (client-node reads
 * `caFile` per request).
 */
import * as k8s from '@kubernetes/client-node';
import { ConfigError } from '../../providers/errors.js';
import type { KubeConnection } from '../config/kube-connection.js';
import type { Clock } from '../util/clock.js';
import { PROJECTED_TOKEN_PROVIDER, ProjectedTokenAuth } from './token-file.js';

export interface K8sApis {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  custom: k8s.CustomObjectsApi;
  coordination: k8s.CoordinationV1Api;
  watch: k8s.Watch;
  /** Bounds one API call: a hung connection must not stall the pool loop. */
  call<T>(what: string, fn: () => Promise<T>): Promise<T>;
}

export function loadKubeConfig(conn: KubeConnection): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (conn.kind === 'kubeconfig') {
    const file = conn.file;
    try {
      kc.loadFromFile(file);
    } catch (err) {
      throw new ConfigError('KUBECONFIG', `cannot load ${file}: ${(err as Error).message}`);
    }
    if (!kc.getCurrentCluster()) throw new ConfigError('KUBECONFIG', `${file} has no current context with a cluster`);
    return kc;
  }
  const saDir = conn.serviceAccountDir;
  // Not client-node's `tokenFile` provider: it re-reads the file once a minute at best (token-file.ts).
  kc.addAuthenticator(new ProjectedTokenAuth());
  kc.loadFromClusterAndUser(
    { name: 'in-cluster', server: conn.server, caFile: `${saDir}/ca.crt`, skipTLSVerify: false },
    {
      name: 'service-account',
      authProvider: { name: PROJECTED_TOKEN_PROVIDER, config: { path: `${saDir}/token` } },
    },
  );
  return kc;
}

export class K8sTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`Kubernetes API call ${what} did not answer within ${ms} ms`);
    this.name = 'K8sTimeoutError';
  }
}

export function createApis(kc: k8s.KubeConfig, clock: Clock, timeoutMs = 10_000): K8sApis {
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
    coordination: kc.makeApiClient(k8s.CoordinationV1Api),
    watch: new k8s.Watch(kc),
    async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
      const ac = new AbortController();
      const timeout = clock.sleep(timeoutMs, ac.signal).then(
        () => Promise.reject(new K8sTimeoutError(what, timeoutMs)),
        () => new Promise<never>(() => {}),
      );
      try {
        return await Promise.race([fn(), timeout]);
      } finally {
        ac.abort();
      }
    },
  };
}

/** HTTP status of a failed call (ApiException `code`, a Watch's `statusCode`), undefined for network errors. */
export function httpStatus(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown } | null;
  if (typeof e?.code === 'number') return e.code;
  return typeof e?.statusCode === 'number' ? e.statusCode : undefined;
}

/**
 * A 404 for the path itself, not for an object: kube-apiserver answers a
 * missing object with a NotFound Status naming it, and a path nothing
 * serves (a custom resource whose CRD is not installed) with a plain-text
 * `404 page not found` (apiserver's notfoundhandler), which client-node
 * hands over as a string.
 */
export function isPathNotFound(err: unknown): boolean {
  if (httpStatus(err) !== 404) return false;
  const body = (err as { body?: unknown }).body;
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return true;
    }
  }
  return (parsed as { kind?: unknown } | null)?.kind !== 'Status';
}

export const isNotFound = (err: unknown): boolean => httpStatus(err) === 404;
export const isConflict = (err: unknown): boolean => httpStatus(err) === 409;

/** Why a call failed, as a small fixed set (a metric label: never the message). */
export type K8sFailure =
  | 'invalid'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'throttled'
  | 'server_error'
  | 'timeout'
  | 'network'
  | 'other';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
]);

export function classifyK8sError(err: unknown): K8sFailure {
  if (err instanceof K8sTimeoutError) return 'timeout';
  const status = httpStatus(err);
  if (status !== undefined) {
    if (status === 400 || status === 422) return 'invalid';
    if (status === 401) return 'unauthorized';
    if (status === 403) return 'forbidden';
    if (status === 404) return 'not_found';
    if (status === 409) return 'conflict';
    if (status === 429) return 'throttled';
    return status >= 500 ? 'server_error' : 'other';
  }
  // node-fetch's FetchError carries the socket's errno code; a reset mid-body is "socket hang up".
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return 'network';
  if (/socket hang up|ECONNRESET|ECONNREFUSED/.test(String((err as Error | null)?.message ?? ''))) return 'network';
  return 'other';
}

/**
 * `ms` stretched by up to `factor` (client-go's wait.Jitter): many nodes
 * started together (a node group scale-up, a DaemonSet rollout) must not
 * list, time out and back off in lockstep against one API server.
 */
export function jittered(ms: number, factor: number, random: () => number = Math.random): number {
  return ms * (1 + factor * random());
}

/** The server's Retry-After (429, 503) in ms, when a failed call carried one in seconds. */
export function retryAfterMs(err: unknown): number | undefined {
  const headers = (err as { headers?: Record<string, string> } | null)?.headers;
  const raw = headers?.['retry-after'] ?? headers?.['Retry-After'];
  if (raw === undefined || !/^\d{1,6}$/.test(raw.trim())) return undefined;
  return Number(raw.trim()) * 1000;
}

/**
 * The least a retry must wait after `err`: the server's Retry-After, or 1 s
 * for a 429 that lost it (client-node's Watch keeps only the status code),
 * which is what the API server sends (APF and max-in-flight: "1").
 */
export function retryFloorMs(err: unknown): number {
  return retryAfterMs(err) ?? (httpStatus(err) === 429 ? 1000 : 0);
}

/**
 * A MicroTime as the API server's decoder demands it (RFC3339 with exactly
 * six fractional digits: apimachinery's MicroTime.UnmarshalJSON parses
 * "2006-01-02T15:04:05.000000Z07:00"). client-node 1.4 would send a Date as
 * toISOString() (three digits), which that parser rejects, so we send the
 * string (typed as the Date the generated models declare).
 */
export function microTime(ms: number): Date {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
}

/** A short description for logs and Events (ApiException bodies can be large). */
export function describeError(err: unknown): string {
  const status = httpStatus(err);
  const body = (err as { body?: unknown } | null)?.body;
  let msg = (err as Error)?.message ?? String(err);
  if (typeof body === 'string') {
    try {
      msg = (JSON.parse(body) as { message?: string }).message ?? msg;
    } catch {
      // not a Status object
    }
  } else if (body && typeof body === 'object' && 'message' in body) {
    msg = String((body as { message: unknown }).message);
  }
  return status ? `HTTP ${status}: ${msg.split('\n')[0]}` : msg.split('\n')[0]!;
}

/** Request options that set the patch Content-Type (client-node 1.x defaults to JSON Patch). */
export function patchOptions(kind: 'merge' | 'strategic'): k8s.ConfigurationOptions {
  const type = kind === 'merge' ? k8s.PatchStrategy.MergePatch : k8s.PatchStrategy.StrategicMergePatch;
  return k8s.setHeaderOptions('Content-Type', type);
}
