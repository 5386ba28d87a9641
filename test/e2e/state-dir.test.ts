/**
 * The state directory as the real vpc-ipamd process (dist/) meets it:
 * - temp files that crashed checkpoint writes left are swept at start
 *   (only ours, only stale ones), and the checkpoint itself survives;
 * - an inconsistent checkpoint stops the start, naming the entry;
 * - a checkpoint write that fails makes STATUS and /healthz not ready, naming
 *   the state directory, until ipamd's own retry succeeds;
 * - (root) a read-only state directory, mounted so inside a private mount
 *   namespace of the daemon only (gone with it; the host's mounts never change):
 *   ipamd runs, not ready, /livez alive, and ADDs fail CHECKPOINT_FAILED.
 * Before: leftovers stayed, the checkpoint was restored with two holders,
 * and STATUS said `ready: true` in both failure cases.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type Response } from '../../cni/contract/protocol.js';
import { callIpamd } from '../../cni/contract/socket-client.js';
import { PERSIST_RETRY_MS } from '../../ipamd/datastore/persist-health.js';
import {
  DAEMON_JS,
  LOOPBACK_GUARD,
  REPO,
  assertBuilt,
  freePort,
  getJson,
  kill,
  startDaemon,
  type DaemonHandle,
} from '../helpers/daemon-process.js';
import { eventually } from '../helpers/eventually.js';

const handles: DaemonHandle[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const h of handles) await kill(h, 'SIGKILL');
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

const add = (h: { socket: string }, id: string) =>
  callIpamd(h.socket, { v: PROTOCOL_VERSION, op: 'add', network: 'vpc-ipam', containerId: id, ifName: 'eth0' }, 20_000);
const status = async (h: { socket: string }) => {
  const r = await callIpamd(h.socket, { v: PROTOCOL_VERSION, op: 'status' });
  if (!r.ok || !('status' in r)) throw new Error(`status: ${JSON.stringify(r)}`);
  return r.status;
};
const ipOf = (r: Response) => (r.ok && 'allocation' in r ? r.allocation.ip : `failed: ${JSON.stringify(r)}`);

/** A PID that belonged to a process and no longer does. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid!;
}

/** Polls `probe` until it gives a value (the deadline only guards a hung process). */
const until = <T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> =>
  eventually(what, probe, { timeoutMs: ms, everyMs: 100 });

describe('checkpoint temp files and consistency at start', () => {
  it('sweeps stale temp files of ours only, and keeps the checkpoint', async () => {
    let h = await startDaemon({ WARM_IP_TARGET: '2' });
    handles.push(h);
    const ips = new Map([
      ['c1', ipOf(await add(h, 'c1'))],
      ['c2', ipOf(await add(h, 'c2'))],
    ]);
    const oldPid = h.proc.pid!;
    await kill(h, 'SIGKILL');

    const state = h.env.VPC_IPAM_STATE_DIR!;
    const dead = deadPid();
    const me = process.pid;
    const stale = [`${dead}-3`, `${dead}-probe`, `${oldPid}-41`, `${me}-9`].map((s) => `ipam.json.tmp-${s}`);
    const kept = ['ipam.json.tmp-notes', 'other.json.tmp-1-1', 'ipam.json.bak', 'ipam.json.repaired-1'];
    kept.push(`ipam.json.tmp-${me}-0`); // a live process's, and fresh
    for (const n of [...stale, ...kept]) writeFileSync(path.join(state, n), '{"version":"half a wri');
    // A live process's temp file is left while fresh, swept once old (a write lasts milliseconds).
    const old = new Date(Date.now() - 11 * 60_000);
    utimesSync(path.join(state, `ipam.json.tmp-${process.pid}-9`), old, old);
    mkdirSync(path.join(state, `ipam.json.tmp-${dead}-5`)); // not a regular file: not ours to remove

    h = await startDaemon({}, h);
    handles.push(h);
    const left = readdirSync(state);
    for (const n of stale) expect(left).not.toContain(n);
    for (const n of [...kept, `ipam.json.tmp-${dead}-5`]) expect(left).toContain(n);
    const after = await getJson<{ assignments: Array<{ containerId: string; ip: string }> }>(h, '/v1/assignments');
    expect(new Map(after.assignments.map((a) => [a.containerId, a.ip]))).toEqual(ips);
    const log = readFileSync(h.env.VPC_IPAM_LOG_FILE!, 'utf8');
    expect(log).toContain('removed temp files of interrupted checkpoint writes');
    expect(await kill(h, 'SIGTERM')).toBe(0);
  });

  it('refuses to start on an inconsistent checkpoint, naming the entry', async () => {
    const h = await startDaemon({ WARM_IP_TARGET: '2' });
    handles.push(h);
    const ip = ipOf(await add(h, 'c1'));
    expect(await kill(h, 'SIGTERM')).toBe(0);
    const file = path.join(h.env.VPC_IPAM_STATE_DIR!, 'ipam.json');
    const cp = JSON.parse(readFileSync(file, 'utf8')) as { assignments: Array<Record<string, unknown>> };
    cp.assignments.push({ ...cp.assignments[0], containerId: 'intruder' }); // a second holder of c1's address
    writeFileSync(file, JSON.stringify(cp));
    const err = await startDaemon({}, h).then(
      (again) => {
        handles.push(again);
        return 'started';
      },
      (e: Error) => e.message,
    );
    expect(err).toMatch(/ipamd exited with 1/);
    expect(err).toContain('CHECKPOINT_FAILED');
    expect(err).toContain(`assignments[1] vpc-ipam/intruder/eth0 "${ip}": ${ip} is already held by assignments[0]`);
  });
});

describe('readiness and persistence, real process', () => {
  it('is not ready while checkpoint writes fail, naming the state dir, and recovers by itself', async () => {
    const h = await startDaemon({ WARM_IP_TARGET: '2' });
    handles.push(h);
    expect(await status(h)).toMatchObject({ ready: true });
    const state = h.env.VPC_IPAM_STATE_DIR!;
    const file = path.join(state, 'ipam.json');
    // The checkpoint's path becomes a non-empty directory: every rename onto it fails.
    rmSync(file);
    mkdirSync(path.join(file, 'blocker'), { recursive: true });
    const res = await add(h, 'c1');
    expect(res).toMatchObject({ ok: false, error: { code: 'CHECKPOINT_FAILED' } });
    const s = await status(h);
    expect(s.ready).toBe(false);
    expect(s.reason).toContain(`state directory ${state}`);
    const hz = await fetch(`http://${h.introspection}/healthz`);
    expect(hz.status).toBe(503);
    expect(((await hz.json()) as { reason: string }).reason).toContain(state);
    expect((await fetch(`http://${h.introspection}/livez`)).status).toBe(200);

    rmSync(file, { recursive: true });
    await until('ready again', async () => ((await status(h)).ready ? true : undefined), PERSIST_RETRY_MS * 3);
    expect(existsSync(file)).toBe(true);
    expect(ipOf(await add(h, 'c1'))).toMatch(/^10\./);
    expect(await kill(h, 'SIGTERM')).toBe(0);
  });

  const root = process.getuid?.() === 0;
  it.runIf(root)('a read-only state directory at start: running, not ready, every ADD refused', async () => {
    assertBuilt();
    const ctl = path.join(REPO, 'dist/ipamd/ctl/main.js');
    const quiet = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    // The cloud lives outside the node (an EC2+IMDS emulator process), so the state dir holds only the checkpoint.
    const emu = spawn(process.execPath, [ctl, 'emulate', '--provider', 'aws', '--listen', '127.0.0.1:0', '--json'], {
      env: { PATH: process.env.PATH, NODE_OPTIONS: LOOPBACK_GUARD, ...quiet },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(emu);
    const endpoint = await new Promise<string>((resolve, reject) => {
      let out = '';
      emu.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve((JSON.parse(out.split('\n')[0]!) as { endpoint: string }).endpoint);
      });
      emu.once('exit', (code) => reject(new Error(`emulate exited with ${code}`)));
    });

    const dir = mkdtempSync(path.join(tmpdir(), 'ipamd-ro-'));
    const state = path.join(dir, 'state');
    mkdirSync(state);
    const iport = await freePort();
    const env = {
      PATH: process.env.PATH,
      NODE_OPTIONS: LOOPBACK_GUARD,
      ...quiet,
      VPC_IPAM_PROVIDER: 'aws',
      AWS_EC2_ENDPOINT: endpoint,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'emulator',
      VPC_IPAM_STATE_DIR: state,
      VPC_IPAM_SOCKET: path.join(dir, 'ipamd.sock'),
      INTROSPECTION_BIND_ADDRESS: `127.0.0.1:${iport}`,
      VPC_IPAM_METRICS_ADDRESS: 'off',
      VPC_IPAM_LOG_FILE: path.join(dir, 'ipamd.log'),
      VPC_IPAM_PLUMBING: 'off',
      RO_DIR: state,
    };
    // unshare execs in place (no fork), so the child's PID ends up being ipamd's.
    const script = 'mount -o bind,ro "$RO_DIR" "$RO_DIR" && exec "$@"';
    const argv = ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', process.execPath, DAEMON_JS];
    const proc = spawn('unshare', argv, {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(proc);
    let stderr = '';
    proc.stderr!.on('data', (d) => (stderr += d));
    const h = { socket: env.VPC_IPAM_SOCKET };
    // Liveness answers from before init; the plugin socket only once ipamd serves.
    await until(
      '/livez and the plugin socket',
      async () => {
        if (proc.exitCode !== null) throw new Error(`ipamd exited with ${proc.exitCode}: ${stderr}`);
        const live = await fetch(`http://127.0.0.1:${iport}/livez`).then(
          (r) => r.ok,
          () => false,
        );
        return (
          (live &&
            (await status(h).then(
              () => true,
              () => false,
            ))) ||
          undefined
        );
      },
      30_000,
    );

    const s = await status(h);
    expect(s.ready).toBe(false);
    expect(s.reason).toContain(`state directory ${state}`);
    expect(s.reason).toMatch(/EROFS|read-only/);
    const hz = await fetch(`http://127.0.0.1:${iport}/healthz`);
    expect(hz.status).toBe(503);
    expect(await add(h, 'c1')).toMatchObject({ ok: false, error: { code: 'CHECKPOINT_FAILED' } });
    expect((await status(h)).ready).toBe(false);
    // The read-only mount was the daemon's own: the host never saw it, and nothing was written.
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(state);
    expect(readdirSync(state)).toEqual([]);

    proc.kill('SIGTERM');
    expect(await new Promise((r) => proc.once('exit', (code) => r(code)))).toBe(0);
    emu.kill('SIGTERM');
    await new Promise((r) => emu.once('exit', r));
  });
});
