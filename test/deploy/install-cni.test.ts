/**
 * The init container step, run for real against scratch directories: it
 * installs the plugins atomically (temp file + rename, nothing half-written
 * left behind, a running binary replaced rather than overwritten), sets the
 * sysctls, and refuses bad input without changing anything.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/daemon-process.js';

const SCRIPT = path.join(REPO, 'deploy/scripts/install-cni.sh');

function scratch() {
  const root = mkdtempSync(path.join(tmpdir(), 'install-cni-'));
  const src = path.join(root, 'image');
  const dest = path.join(root, 'host-bin');
  const proc = path.join(root, 'proc-sys');
  mkdirSync(src);
  mkdirSync(dest);
  for (const f of ['net/ipv4/ip_forward', 'net/ipv4/conf/eth0/rp_filter']) {
    mkdirSync(path.dirname(path.join(proc, f)), { recursive: true });
    writeFileSync(path.join(proc, f), '0\n');
  }
  for (const p of ['vpc-ipam-node', 'vpc-ipam', 'portmap', 'bandwidth'])
    writeFileSync(path.join(src, p), `#!/bin/sh\necho ${p} v2\n`);
  const env = {
    PATH: process.env.PATH,
    VPC_IPAM_CNI_SRC: src,
    HOST_CNI_BIN_PATH: dest,
    PROC_SYS: proc,
    VPC_IPAM_PRIMARY_IF: 'eth0',
    VPC_IPAM_LOG_DIR: path.join(root, 'host-log/vpc-ipam'),
  };
  return { root, src, dest, proc, env };
}

describe('install-cni.sh', () => {
  it('installs every plugin executable and sets the sysctls', () => {
    const s = scratch();
    // An older plugin is in place: it is replaced by rename, so its inode changes.
    writeFileSync(path.join(s.dest, 'vpc-ipam'), '#!/bin/sh\necho v1\n');
    chmodSync(path.join(s.dest, 'vpc-ipam'), 0o755);
    const oldIno = statSync(path.join(s.dest, 'vpc-ipam')).ino;
    execFileSync('sh', [SCRIPT], { env: s.env, stdio: 'pipe' });
    expect(readdirSync(s.dest).sort()).toEqual(['bandwidth', 'portmap', 'vpc-ipam', 'vpc-ipam-node']);
    for (const p of ['vpc-ipam', 'portmap', 'bandwidth']) {
      expect(statSync(path.join(s.dest, p)).mode & 0o777).toBe(0o755);
      expect(execFileSync(path.join(s.dest, p), { encoding: 'utf8' })).toBe(`${p} v2\n`);
    }
    expect(statSync(path.join(s.dest, 'vpc-ipam')).ino).not.toBe(oldIno);
    expect(readFileSync(path.join(s.proc, 'net/ipv4/ip_forward'), 'utf8')).toBe('1\n');
    expect(readFileSync(path.join(s.proc, 'net/ipv4/conf/eth0/rp_filter'), 'utf8')).toBe('2\n');
  });

  it('a missing plugin fails the init container and leaves no temp file', () => {
    const s = scratch();
    const r = spawnSync('sh', [SCRIPT], {
      env: { ...s.env, VPC_IPAM_CNI_PLUGINS: 'vpc-ipam nonexistent' },
      encoding: 'utf8',
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('plugin');
    expect(r.stderr).toContain('nonexistent is missing from the image');
    expect(readdirSync(s.dest).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('rejects path-like plugin and interface names, and a missing bin dir', () => {
    const s = scratch();
    expect(spawnSync('sh', [SCRIPT], { env: { ...s.env, VPC_IPAM_CNI_PLUGINS: '../evil' } }).status).not.toBe(0);
    expect(existsSync(path.join(s.root, 'evil'))).toBe(false);
    const r = spawnSync('sh', [SCRIPT], { env: { ...s.env, VPC_IPAM_PRIMARY_IF: '../../x' }, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("invalid interface name '../../x'");
    const noBinDir = spawnSync('sh', [SCRIPT], { env: { ...s.env, HOST_CNI_BIN_PATH: path.join(s.root, 'nope') } });
    expect(noBinDir.status).not.toBe(0);
  });

  it('creates the host log directory 0755, and only warns when it cannot', () => {
    const s = scratch();
    execFileSync('sh', [SCRIPT], { env: s.env, stdio: 'pipe' });
    expect(statSync(s.env.VPC_IPAM_LOG_DIR).mode & 0o7777).toBe(0o755);
    // A file where the directory should be: the plugin will log to stderr, the node still gets its plugins.
    const blocked = path.join(s.root, 'not-a-dir');
    writeFileSync(blocked, '');
    const r = spawnSync('sh', [SCRIPT], {
      env: { ...s.env, VPC_IPAM_LOG_DIR: path.join(blocked, 'x') },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`warning: cannot create log dir ${path.join(blocked, 'x')}`);
    expect(readFileSync(path.join(s.proc, 'net/ipv4/ip_forward'), 'utf8')).toBe('1\n');
  });

  it('VPC_IPAM_SKIP_SYSCTL installs binaries only', () => {
    const s = scratch();
    execFileSync('sh', [SCRIPT], { env: { ...s.env, VPC_IPAM_SKIP_SYSCTL: 'true' }, stdio: 'pipe' });
    expect(readFileSync(path.join(s.proc, 'net/ipv4/ip_forward'), 'utf8')).toBe('0\n');
    expect(readdirSync(s.dest)).toHaveLength(4);
  });
});
