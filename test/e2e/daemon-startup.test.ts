/**
 * The real vpc-ipamd process (dist/) on paths and ports it cannot use: it
 * exits non-zero at once, with one line naming the variable to change and no
 * stack trace, instead of hanging (a socket under /proc), deleting what the
 * path names (a regular file), or dying in the logger's exit hook
 * ("sonic boom is not ready yet").
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, DAEMON_JS, freePort, kill, LOOPBACK_GUARD, startDaemon } from '../helpers/daemon-process.js';

interface Exit {
  code: number | null;
  stderr: string;
}

/** Runs the daemon until it exits (or `timeoutMs`, then SIGKILL: a hang fails the test, as exit code null). */
function run(env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<Exit> {
  const proc = spawn(process.execPath, [DAEMON_JS], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** One line, naming the variable, no stack frame. */
function expectCleanRefusal(r: Exit, variable: string, why: RegExp): void {
  expect(r.code, `stderr: ${r.stderr}`).toBe(1);
  expect(r.stderr).toMatch(new RegExp(`^vpc-ipamd: cannot start: CONFIG_INVALID: ${variable}: `));
  expect(r.stderr).toMatch(why);
  expect(r.stderr).not.toMatch(/\n\s+at |sonic boom|Error:/);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
}

describe('vpc-ipamd refuses what it cannot use, naming the variable', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    assertBuilt();
    dir = mkdtempSync(path.join(tmpdir(), 'ipamd-start-'));
    env = {
      PATH: process.env.PATH,
      NODE_OPTIONS: LOOPBACK_GUARD,
      VPC_IPAM_PROVIDER: 'sim',
      VPC_IPAM_STATE_DIR: path.join(dir, 'state'),
      VPC_IPAM_SOCKET: path.join(dir, 'ipamd.sock'),
      VPC_IPAM_LOG_FILE: path.join(dir, 'ipamd.log'),
      INTROSPECTION_BIND_ADDRESS: 'off',
      VPC_IPAM_METRICS_ADDRESS: 'off',
      VPC_IPAM_SIM_LATENCY_SCALE: '0.02',
      VPC_IPAM_PLUMBING: 'off',
    };
  });

  it('a socket whose directory cannot be created (/proc/nope) stops it at once', async () => {
    const r = await run({ ...env, VPC_IPAM_SOCKET: '/proc/nope/ipamd.sock' });
    expectCleanRefusal(r, 'VPC_IPAM_SOCKET', /cannot create directory \/proc\/nope: ENOENT/);
  });

  it('a socket under a file (ENOTDIR)', async () => {
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'x');
    expectCleanRefusal(await run({ ...env, VPC_IPAM_SOCKET: `${file}/ipamd.sock` }), 'VPC_IPAM_SOCKET', /ENOTDIR/);
  });

  it('a socket path that names a regular file: refused, and the file is left alone', async () => {
    const file = path.join(dir, 'precious.txt');
    writeFileSync(file, 'keep me');
    expectCleanRefusal(await run({ ...env, VPC_IPAM_SOCKET: file }), 'VPC_IPAM_SOCKET', /is not a socket/);
    expect(readFileSync(file, 'utf8')).toBe('keep me');
  });

  it('a state dir or log file under /proc', async () => {
    const state = await run({ ...env, VPC_IPAM_STATE_DIR: '/proc/nope/state' });
    expectCleanRefusal(state, 'VPC_IPAM_STATE_DIR', /\/proc\/nope/);
    const log = await run({ ...env, VPC_IPAM_LOG_FILE: '/proc/nope/ipamd.log' });
    expectCleanRefusal(log, 'VPC_IPAM_LOG_FILE', /\/proc\/nope/);
  });

  it('an invalid variable with a file log: one line, no "sonic boom" stack trace', async () => {
    const cases = [{ WARM_ENI_TARGET: 'abc' }, { ENABLE_PREFIX_DELEGATION: 'yes' }, { VPC_IPAM_PLUMBING: 'maybe' }];
    for (const bad of cases) {
      const r = await run({ ...env, ...bad });
      expectCleanRefusal(r, Object.keys(bad)[0]!, /expected/);
    }
  });

  it('an AWS VPC CNI variable it cannot honour stops it before the cloud or the checkpoint', async () => {
    const state = path.join(dir, 'aws-refused-state');
    const r = await run({ ...env, VPC_IPAM_STATE_DIR: state, ENABLE_POD_ENI: 'true' });
    expectCleanRefusal(r, 'ENABLE_POD_ENI', /security groups for Pods .*, which vpc-ipam does not support yet/);
    expect(existsSync(state)).toBe(false);
  });

  it('an AWS log file it cannot open names AWS_VPC_K8S_CNI_LOG_FILE', async () => {
    const { VPC_IPAM_LOG_FILE: _own, ...rest } = env;
    const r = await run({ ...rest, AWS_VPC_K8S_CNI_LOG_FILE: '/proc/nope/ipamd.log' });
    expectCleanRefusal(r, 'AWS_VPC_K8S_CNI_LOG_FILE', /\/proc\/nope/);
  });

  describe('ports in use (EADDRINUSE)', () => {
    let blocker: net.Server;
    let port: number;
    beforeAll(async () => {
      port = await freePort();
      blocker = net.createServer();
      await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
    });
    afterAll(() => new Promise<void>((r) => blocker.close(() => r())));

    it.each(['INTROSPECTION_BIND_ADDRESS', 'VPC_IPAM_METRICS_ADDRESS'])('%s', async (variable) => {
      const sock = path.join(dir, `${variable}.sock`);
      const r = await run({ ...env, VPC_IPAM_SOCKET: sock, [variable]: `127.0.0.1:${port}` });
      expectCleanRefusal(r, variable, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
      // It stopped what it had started: the socket it had bound is gone with it.
      expect(existsSync(sock)).toBe(false);
    });
  });

  it('a second daemon on a live socket stops before it touches cloud or checkpoint', async () => {
    const first = await startDaemon();
    try {
      const checkpoint = path.join(first.dir, 'state', 'ipam.json');
      const before = { text: readFileSync(checkpoint, 'utf8'), inode: statSync(checkpoint).ino };
      const r = await run({ ...first.env, INTROSPECTION_BIND_ADDRESS: 'off', VPC_IPAM_METRICS_ADDRESS: 'off' });
      expectCleanRefusal(r, 'VPC_IPAM_SOCKET', /another ipamd is already serving/);
      // Not rewritten (a checkpoint write replaces the file by rename, so the inode would change).
      expect({ text: readFileSync(checkpoint, 'utf8'), inode: statSync(checkpoint).ino }).toEqual(before);
    } finally {
      await kill(first, 'SIGTERM');
    }
  });

  it('logs the real reason plumbing is off (root or not)', async () => {
    const h = await startDaemon();
    await kill(h, 'SIGTERM');
    const log = readFileSync(path.join(h.dir, 'ipamd.log'), 'utf8');
    expect(log).toContain('Pod network plumbing off (VPC_IPAM_PLUMBING=off)');
    if (process.getuid?.() === 0) expect(log).not.toMatch(/not root/);
  });

  it('a sim subnet outside 10.0.0.0/16 works: the sim VPC follows it', async () => {
    const h = await startDaemon({ VPC_IPAM_SIM_SUBNET_CIDR: '192.168.7.0/24' });
    try {
      const nics = await (await fetch(`http://${h.introspection}/v1/nics`)).text();
      expect(nics).toContain('192.168.7.');
    } finally {
      await kill(h, 'SIGTERM');
    }
  });

  it('a sim subnet the cloud refuses names VPC_IPAM_SIM_SUBNET_CIDR', async () => {
    const tiny = { VPC_IPAM_STATE_DIR: path.join(dir, 'tiny'), VPC_IPAM_SIM_SUBNET_CIDR: '10.0.0.0/30' };
    const r = await run({ ...env, ...tiny });
    expectCleanRefusal(r, 'VPC_IPAM_SIM_SUBNET_CIDR', /10\.0\.0\.0\/30/);
  });
});
