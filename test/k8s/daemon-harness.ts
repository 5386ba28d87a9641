/**
 * Runs the real daemon wiring (`startDaemon` from ipamd/run.ts, the same
 * code the vpc-ipamd binary runs) in the test process, on a pre-seeded sim
 * cloud, with `MY_NODE_NAME` and a kubeconfig for the fake API server.
 */
import { parseConfig } from '../../ipamd/config.js';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PROTOCOL_VERSION, type Response } from '../../cni/contract/protocol.js';
import { callIpamd } from '../../cni/contract/socket-client.js';
import { createLogger } from '../../ipamd/observability/logger.js';
import { startDaemon, type RunningDaemon } from '../../ipamd/run.js';
import { afterAll, beforeAll } from 'vitest';
import { startFakeCluster, type FakeCluster, type FakeClusterOptions } from './helpers.js';

export interface K8sDaemon {
  running: RunningDaemon;
  dir: string;
  socket: string;
  confDir: string;
  binDir: string;
  env: Record<string, string>;
  introspection: string;
}

/** What Debian's containernetworking-plugins 1.1.1 (the image's portmap and bandwidth) answer to VERSION. */
export const DEBIAN_PLUGIN_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0'];

/** A stand-in plugin: answers VERSION with `versions` (ipamd asks before writing the conflist), else exits 0. */
export function standInPlugin(versions: readonly string[]): string {
  const answer = JSON.stringify({ cniVersion: '1.0.0', supportedVersions: versions });
  return `#!/bin/sh\nif [ "$CNI_COMMAND" = VERSION ]; then printf '%s\\n' '${answer}'; fi\nexit 0\n`;
}

/** Puts executable stand-ins for the plugin binaries into `binDir` (what the init container installs). */
export function installBinaries(
  binDir: string,
  names = ['vpc-ipam', 'portmap'],
  versions: readonly string[] = DEBIAN_PLUGIN_VERSIONS,
): void {
  mkdirSync(binDir, { recursive: true });
  for (const n of names) {
    const f = path.join(binDir, n);
    writeFileSync(f, standInPlugin(versions));
    chmodSync(f, 0o755);
  }
}

export function k8sDaemonEnv(
  c: FakeCluster,
  node: string,
  dir: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    VPC_IPAM_PROVIDER: 'sim',
    VPC_IPAM_STATE_DIR: path.join(dir, 'state'),
    VPC_IPAM_SOCKET: path.join(dir, 'ipamd.sock'),
    INTROSPECTION_BIND_ADDRESS: '127.0.0.1:0',
    VPC_IPAM_METRICS_ADDRESS: 'off',
    VPC_IPAM_SIM_LATENCY_SCALE: '0.02',
    VPC_IPAM_PLUMBING: 'off',
    VPC_IPAM_RECONCILE_INTERVAL_SECONDS: '1',
    MY_NODE_NAME: node,
    KUBECONFIG: c.kubeconfig,
    HOST_CNI_CONFDIR_PATH: path.join(dir, 'net.d'),
    HOST_CNI_BIN_PATH: path.join(dir, 'bin'),
    VPC_IPAM_K8S_PUBLISH_INTERVAL_SECONDS: '1',
    ...extra,
  };
}

export async function startK8sDaemon(
  c: FakeCluster,
  node: string,
  o: { dir?: string; env?: Record<string, string>; binaries?: boolean } = {},
): Promise<K8sDaemon> {
  const dir = o.dir ?? mkdtempSync(path.join(tmpdir(), `ipamd-${node}-`));
  const env = k8sDaemonEnv(c, node, dir, o.env);
  mkdirSync(env.HOST_CNI_CONFDIR_PATH!, { recursive: true });
  if (o.binaries !== false) installBinaries(env.HOST_CNI_BIN_PATH!);
  const running = await startDaemon(parseConfig(env), createLogger('debug', path.join(dir, 'ipamd.log')));
  // Ready comes before the first fill since issue 17; these tests look at the node as the first fill left it.
  await running.started;
  return {
    running,
    dir,
    socket: env.VPC_IPAM_SOCKET!,
    confDir: env.HOST_CNI_CONFDIR_PATH!,
    binDir: env.HOST_CNI_BIN_PATH!,
    env,
    introspection: `127.0.0.1:${running.ports.introspectionPort}`,
  };
}

export async function add(
  d: { socket: string },
  containerId: string,
  pod: { namespace?: string; name?: string; uid?: string } = {},
): Promise<Response> {
  return callIpamd(
    d.socket,
    { v: PROTOCOL_VERSION, op: 'add', network: 'vpc-ipam', containerId, ifName: 'eth0', pod },
    20_000,
  );
}

export async function del(d: { socket: string }, containerId: string): Promise<Response> {
  return callIpamd(
    d.socket,
    { v: PROTOCOL_VERSION, op: 'del', network: 'vpc-ipam', containerId, ifName: 'eth0' },
    20_000,
  );
}

export function ipOf(r: Response): string {
  if (!r.ok || !('allocation' in r)) throw new Error(`ADD failed: ${JSON.stringify(r)}`);
  return r.allocation.ip;
}

/**
 * One fake cluster for a whole test file (vitest hooks): `c` is usable from
 * the first test on; daemons pushed to `daemons` are stopped after the file,
 * then the server.
 */
export function clusterPerFile(opts: FakeClusterOptions = {}): { readonly c: FakeCluster; daemons: K8sDaemon[] } {
  let cluster: FakeCluster | undefined;
  const daemons: K8sDaemon[] = [];
  beforeAll(async () => {
    cluster = await startFakeCluster(opts);
  });
  afterAll(async () => {
    for (const d of daemons) await d.running.stop().catch(() => {});
    await cluster?.server.stop();
  });
  return {
    get c() {
      if (!cluster) throw new Error('the fake cluster starts in beforeAll');
      return cluster;
    },
    daemons,
  };
}
