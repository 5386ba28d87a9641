/**
 * @module k8s client
 * Builds the `@kubernetes/client-node` APIs from the daemon's environment
 * (never `process.env` directly: only entry points read it). This module is
 * imported lazily by run.ts: the client costs ~700 ms of start-up, which
 * a daemon started without `MY_NODE_NAME` must not pay.
 *
 * Connection, in order of precedence:
 * - `KUBECONFIG`: a kubeconfig file (tests, running outside the cluster);
 * - `CLUSTER_ENDPOINT` (as in the AWS VPC CNI) or `KUBERNETES_SERVICE_HOST`/
 *   `_PORT`, with the mounted service account token (re-read on every request,
 *   so rotated bound tokens keep working) and CA.
 */
import * as k8s from '@kubernetes/client-node';
import { ConfigError } from '../../providers/errors.js';
import type { Clock } from '../util/clock.js';

type Env = Readonly<Record<string, string | undefined>>;

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

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

function present(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

export function loadKubeConfig(env: Env): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  const file = present(env, 'KUBECONFIG');
  if (file) {
    try {
      kc.loadFromFile(file);
    } catch (err) {
      throw new ConfigError('KUBECONFIG', `cannot load ${file}: ${(err as Error).message}`);
    }
    if (!kc.getCurrentCluster()) throw new ConfigError('KUBECONFIG', `${file} has no current context with a cluster`);
    return kc;
  }
  let server = present(env, 'CLUSTER_ENDPOINT');
  if (!server) {
    const host = present(env, 'KUBERNETES_SERVICE_HOST');
    const port = present(env, 'KUBERNETES_SERVICE_PORT') ?? '443';
    if (!host) {
      throw new ConfigError('MY_NODE_NAME', 'is set but no API server is known: set KUBECONFIG or CLUSTER_ENDPOINT, or run in a Pod (KUBERNETES_SERVICE_HOST)');
    }
    server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }
  if (!/^https?:\/\/[^\s/]+/.test(server)) throw new ConfigError('CLUSTER_ENDPOINT', `expected an http(s) URL, got "${server}"`);
  const saDir = present(env, 'VPC_IPAM_SERVICEACCOUNT_DIR') ?? SA_DIR;
  kc.loadFromClusterAndUser(
    { name: 'in-cluster', server, caFile: `${saDir}/ca.crt`, skipTLSVerify: false },
    { name: 'service-account', authProvider: { name: 'tokenFile', config: { tokenFile: `${saDir}/token` } } },
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

/** HTTP status of a failed call (ApiException), undefined for network errors. */
export function httpStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export const isNotFound = (err: unknown): boolean => httpStatus(err) === 404;
export const isConflict = (err: unknown): boolean => httpStatus(err) === 409;

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
  } else if (body && typeof body === 'object' && 'message' in body) msg = String((body as { message: unknown }).message);
  return status ? `HTTP ${status}: ${msg.split('\n')[0]}` : msg.split('\n')[0]!;
}

/** Request options that set the patch Content-Type (client-node 1.x defaults to JSON Patch). */
export function patchOptions(kind: 'merge' | 'strategic'): k8s.ConfigurationOptions {
  return k8s.setHeaderOptions('Content-Type', kind === 'merge' ? k8s.PatchStrategy.MergePatch : k8s.PatchStrategy.StrategicMergePatch);
}
