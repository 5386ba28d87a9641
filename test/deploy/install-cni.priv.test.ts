/**
 * The init container as the DaemonSet runs it: not privileged, root with NET_ADMIN only, the host's
 * /proc/sys/net bind-mounted at /host/proc/sys/net (PROC_SYS=/host/proc/sys). Run for real in this file's
 * throwaway host namespace (test/priv-setup.ts): a private mount namespace for the bind mount, setpriv for
 * the capability set a container with `drop: [ALL], add: [NET_ADMIN]` gets.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/daemon-process.js';

const SCRIPT = path.join(REPO, 'deploy/scripts/install-cni.sh');
const root = process.getuid?.() === 0;
const dirs: string[] = [];

/** Runs install-cni.sh in a container-like process: own mount namespace, only `caps` (e.g. '+net_admin'). */
function runInit(caps: string): { code: number | null; stderr: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'install-cni-priv-'));
  dirs.push(dir);
  const src = path.join(dir, 'image');
  const dest = path.join(dir, 'host-bin');
  mkdirSync(src);
  mkdirSync(dest);
  mkdirSync(path.join(dir, 'proc/sys/net'), { recursive: true });
  for (const p of ['vpc-ipam-node', 'vpc-ipam', 'portmap', 'bandwidth'])
    writeFileSync(path.join(src, p), '#!/bin/sh\n');
  const setpriv = ['setpriv', `--bounding-set=-all${caps}`, `--inh-caps=-all${caps}`, `--ambient-caps=-all${caps}`];
  // $1: where the host's /proc/sys/net goes; the rest: the capability-limited command.
  const inner = 'mount --bind /proc/sys/net "$1" && shift && exec "$@"';
  const args = ['-m', '--propagation', 'private', 'sh', '-c', inner, 'sh', path.join(dir, 'proc/sys/net')];
  const env = {
    PATH: process.env.PATH,
    VPC_IPAM_CNI_SRC: src,
    HOST_CNI_BIN_PATH: dest,
    PROC_SYS: path.join(dir, 'proc/sys'),
    VPC_IPAM_LOG_DIR: path.join(dir, 'host-log/vpc-ipam'),
  };
  const r = spawnSync('unshare', [...args, ...setpriv, '--no-new-privs', 'sh', SCRIPT], { encoding: 'utf8', env });
  return { code: r.status, stderr: r.stderr };
}

const sysctl = (key: string) => readFileSync(`/proc/sys/${key}`, 'utf8').trim();

describe.skipIf(!root)('install-cni.sh as the DaemonSet runs it (unprivileged, NET_ADMIN)', () => {
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('writes the host sysctls through the /proc/sys/net hostPath with NET_ADMIN only', () => {
    writeFileSync('/proc/sys/net/ipv4/ip_forward', '0\n');
    writeFileSync('/proc/sys/net/ipv4/conf/eth0/rp_filter', '1\n');
    const r = runInit(',+net_admin');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('sysctl net/ipv4/conf/eth0/rp_filter=2');
    expect(sysctl('net/ipv4/ip_forward')).toBe('1');
    expect(sysctl('net/ipv4/conf/eth0/rp_filter')).toBe('2');
  });

  it('without NET_ADMIN the write is refused and the step fails (the Pod does not start half-configured)', () => {
    writeFileSync('/proc/sys/net/ipv4/ip_forward', '0\n');
    const r = runInit('');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/cannot write sysctl net\/ipv4\/ip_forward under .*: needs root with NET_ADMIN/);
    expect(r.stderr).not.toContain('sysctl net/ipv4/ip_forward=1');
    expect(sysctl('net/ipv4/ip_forward')).toBe('0');
  });
});
