/**
 * Test helper: runs the real vpc-ipamd (built JS in dist/) as a child
 * process on the sim cloud with private paths and ports, and talks to it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DAEMON_ENV, DAEMON_NODE_FLAGS } from '../../ipamd/build/node-flags.js';

export const REPO = path.resolve(new URL('../..', import.meta.url).pathname);
export const DAEMON_JS = path.join(REPO, 'dist/ipamd/main.js');
/** NODE_OPTIONS that load the loopback-only guard (test/helpers/loopback-only.mjs) into a child process. */
export const LOOPBACK_GUARD = `--import=${new URL('./loopback-only.mjs', import.meta.url).href}`;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface DaemonHandle {
  proc: ChildProcess;
  dir: string;
  socket: string;
  introspection: string;
  metrics: string | undefined;
  env: NodeJS.ProcessEnv;
  stderr: () => string;
}

export function assertBuilt(): void {
  if (!existsSync(DAEMON_JS))
    throw new Error(`${DAEMON_JS} is missing: run "npm run build" (npm test does it in pretest)`);
}

/** How to launch the daemon: default `node dist/ipamd/main.js` (tsc output); the memory bench runs the bundle. */
export interface DaemonLaunch {
  /** The script node runs. */
  entry: string;
  /** Node/V8 flags before it (never through NODE_OPTIONS, which stays the loopback guard's). */
  nodeArgs: readonly string[];
  /** Variables the launch itself needs (the image's ENV), under the test's own. */
  env?: Readonly<Record<string, string>>;
}

/** Production's launch: the bundle with the image's node flags and ENV (deploy/Dockerfile ENTRYPOINT). */
export const PRODUCTION_LAUNCH: DaemonLaunch = Object.freeze({
  entry: path.join(REPO, 'dist/bundle/ipamd/main.js'),
  nodeArgs: DAEMON_NODE_FLAGS,
  env: DAEMON_ENV,
});

/** Starts (or restarts, when `prev` is given: same dir and ports) a daemon and waits for /healthz. */
export async function startDaemon(
  extraEnv: NodeJS.ProcessEnv = {},
  prev?: DaemonHandle,
  launch: DaemonLaunch = { entry: DAEMON_JS, nodeArgs: [] },
): Promise<DaemonHandle> {
  if (launch.entry === DAEMON_JS) assertBuilt();
  else if (!existsSync(launch.entry)) {
    throw new Error(`${launch.entry} is missing: build it first (npm run build:daemon for the bundle)`);
  }
  const dir = prev?.dir ?? mkdtempSync(path.join(tmpdir(), 'ipamd-'));
  const iport = prev ? Number(prev.introspection.split(':').pop()) : await freePort();
  const mport = prev?.metrics ? Number(prev.metrics.split(':').pop()) : await freePort();
  const env: NodeJS.ProcessEnv = prev?.env ?? {
    ...launch.env,
    PATH: process.env.PATH,
    VPC_IPAM_PROVIDER: 'sim',
    VPC_IPAM_STATE_DIR: path.join(dir, 'state'),
    VPC_IPAM_SOCKET: path.join(dir, 'ipamd.sock'),
    INTROSPECTION_BIND_ADDRESS: `127.0.0.1:${iport}`,
    VPC_IPAM_METRICS_ADDRESS: `127.0.0.1:${mport}`,
    VPC_IPAM_LOG_FILE: path.join(dir, 'ipamd.log'),
    VPC_IPAM_SIM_LATENCY_SCALE: '0.02',
    VPC_IPAM_PLUMBING: 'off',
    NODE_OPTIONS: LOOPBACK_GUARD,
    ...extraEnv,
  };
  let err = '';
  const proc = spawn(process.execPath, [...launch.nodeArgs, launch.entry], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr!.on('data', (d) => (err += d));
  const handle: DaemonHandle = {
    proc,
    dir,
    socket: env.VPC_IPAM_SOCKET!,
    introspection: `127.0.0.1:${iport}`,
    metrics: `127.0.0.1:${mport}`,
    env,
    stderr: () => err,
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`ipamd exited with ${proc.exitCode}: ${err}`);
    const ok = await fetch(`http://${handle.introspection}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return handle;
    if (Date.now() > deadline) throw new Error(`ipamd did not become healthy: ${err}`);
    // Short: crash soaks restart the daemon a hundred times.
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function getJson<T = Record<string, unknown>>(h: DaemonHandle, p: string): Promise<T> {
  const r = await fetch(`http://${h.introspection}${p}`);
  return (await r.json()) as T;
}

export function kill(h: DaemonHandle, signal: NodeJS.Signals): Promise<number | null> {
  return new Promise((resolve) => {
    if (h.proc.exitCode !== null || h.proc.signalCode !== null) return resolve(h.proc.exitCode);
    h.proc.once('exit', (code) => resolve(code));
    h.proc.kill(signal);
  });
}
