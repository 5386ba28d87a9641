/**
 * The rendered DaemonSet's probes against a real ipamd process whose first pool fill is slow (it needs a new
 * interface: create, attach, metadata wait, at the sim cloud's documented latencies). The HTTP endpoints are
 * up before init, so the startup and liveness probes pass throughout and the kubelet never restarts ipamd;
 * readiness follows the plugin socket: 503 "initialising" while the socket is absent, 200 once it serves, which
 * is before the first fill is done (issue 17: the fill continues in the background, an ADD waits for it).
 * /v1 views answer 503, never 500, during init.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../cni/contract/protocol.js';
import { callIpamd } from '../../cni/contract/socket-client.js';
import { find, render } from '../deploy/render.js';
import { DAEMON_JS, LOOPBACK_GUARD, assertBuilt, freePort } from '../helpers/daemon-process.js';

interface Probe {
  httpGet: { host: string; path: string; port: number };
  periodSeconds?: number;
  failureThreshold?: number;
}
type Ipamd = { name: string; startupProbe: Probe; livenessProbe: Probe; readinessProbe: Probe };

const ds = find(render('aws'), 'DaemonSet', 'vpc-ipam-node') as unknown as {
  spec: { template: { spec: { containers: Ipamd[] } } };
};
const ipamd = ds.spec.template.spec.containers.find((c) => c.name === 'ipamd')!;
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

interface Sample {
  startup: number;
  liveness: number;
  readiness: number;
  reason?: string;
  socket: boolean;
  pool: number;
}

describe('DaemonSet probes against a real daemon', () => {
  it('startup and liveness pass through a slow first fill; readiness follows the plugin socket', async () => {
    assertBuilt();
    const dir = mkdtempSync(path.join(tmpdir(), 'ipamd-probes-'));
    const port = await freePort();
    const socket = path.join(dir, 'ipamd.sock');
    const proc = spawn(process.execPath, [DAEMON_JS], {
      env: {
        PATH: process.env.PATH,
        NODE_OPTIONS: LOOPBACK_GUARD,
        VPC_IPAM_PROVIDER: 'sim',
        VPC_IPAM_STATE_DIR: path.join(dir, 'state'),
        VPC_IPAM_SOCKET: socket,
        INTROSPECTION_BIND_ADDRESS: `127.0.0.1:${port}`,
        VPC_IPAM_METRICS_ADDRESS: 'off',
        VPC_IPAM_LOG_FILE: path.join(dir, 'ipamd.log'),
        VPC_IPAM_PLUMBING: 'off',
        // m5.large: 9 secondary IPs per ENI, so 20 needs a second ENI before the first fill is done.
        VPC_IPAM_SIM_INSTANCE_TYPE: 'm5.large',
        MINIMUM_IP_TARGET: '20',
        VPC_IPAM_SIM_LATENCY_SCALE: '1',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(proc);
    let stderr = '';
    proc.stderr!.on('data', (d) => (stderr += d));

    // As the kubelet would: each probe's path on the probe's host, the test's port for the ConfigMap's.
    const get = async (p: Probe) => {
      const r = await fetch(`http://${p.httpGet.host}:${port}${p.httpGet.path}`).catch(() => undefined);
      return r ? { status: r.status, body: (await r.json()) as { reason?: string } } : { status: 0, body: {} };
    };
    const samples: Sample[] = [];
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`ipamd exited with ${proc.exitCode}: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`no readiness in 60 s: ${JSON.stringify(samples.slice(-3))}`);
      // Looked at before the probes: the daemon may move on while they are in flight, never backwards.
      const socketBefore = existsSync(socket);
      const [startup, liveness, readiness, pool] = await Promise.all([
        get(ipamd.startupProbe),
        get(ipamd.livenessProbe),
        get(ipamd.readinessProbe),
        fetch(`http://127.0.0.1:${port}/v1/pool`).then(
          (r) => r.status,
          () => 0,
        ),
      ]);
      const sample: Sample = {
        startup: startup.status,
        liveness: liveness.status,
        readiness: readiness.status,
        ...(readiness.body.reason ? { reason: readiness.body.reason } : {}),
        socket: socketBefore,
        pool,
      };
      // Nothing listens yet: the process is still starting (the startup probe's budget covers this).
      if (sample.startup !== 0) samples.push(sample);
      if (sample.readiness === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }

    const during = samples.filter((s) => s.readiness !== 200);
    // Ready before the first fill is done: the fill needs a second interface (seconds at these latencies).
    const startup = async () =>
      (await (await fetch(`http://127.0.0.1:${port}/v1/startup`)).json()) as { steps: Record<string, number> };
    expect((await startup()).steps.filled).toBeUndefined();
    // Startup and liveness never failed once listening: the kubelet would not have restarted ipamd.
    expect(samples.every((s) => s.startup === 200 && s.liveness === 200)).toBe(true);
    // Not ready while initialising, and the plugin socket did not exist then; views said 503, not 500. Between
    // the end of init and the socket's listen (a few ms, longer on a busy machine) the reason says so.
    const initialising = during.filter((s) => s.reason === 'initialising');
    expect(initialising.every((s) => s.readiness === 503 && !s.socket)).toBe(true);
    const why = (s: Sample) => s.reason === 'initialising' || s.reason === 'plugin socket not serving';
    expect(
      during.every((s) => s.readiness === 503 && why(s)),
      JSON.stringify(during.filter((s) => !why(s))),
    ).toBe(true);
    expect(initialising.every((s) => s.pool === 503)).toBe(true);
    // Ready: the socket serves; an ADD waits for the fill, which attaches a second interface (the primary has 9).
    const r = await callIpamd(socket, { v: PROTOCOL_VERSION, op: 'status' });
    expect(r).toMatchObject({ ok: true, status: { ready: true } });
    const add = await callIpamd(socket, {
      v: PROTOCOL_VERSION,
      op: 'add',
      network: 'n',
      containerId: 'c',
      ifName: 'e',
    });
    expect(add).toMatchObject({ ok: true });
    for (let i = 0; !(await startup()).steps.filled; i++) {
      if (i > 600) throw new Error('first fill not done in 60 s');
      await new Promise((res) => setTimeout(res, 100));
    }
    const pool = (await (await fetch(`http://127.0.0.1:${port}/v1/pool`)).json()) as { interfaces: number };
    expect(pool.interfaces).toBeGreaterThanOrEqual(2);
    // The probes' budgets as rendered: the startup probe allows 2 minutes to listen, liveness a minute of
    // consecutive failures, so the fill above (any length) is never what restarts the container.
    expect(ipamd.startupProbe.httpGet.path).toBe('/livez');
    expect((ipamd.startupProbe.periodSeconds ?? 10) * (ipamd.startupProbe.failureThreshold ?? 3)).toBe(120);
  });
});
