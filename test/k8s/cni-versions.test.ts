/**
 * The conflist's CNI versions are negotiated with the chained plugins'
 * binaries (ipamd/k8s/cni-versions.ts): which binaries are executed at all,
 * how (argv, environment, stdin, timeout), what is cached, and what the
 * intersection gives, with Debian's real portmap and bandwidth and with
 * stand-ins. The chain run at the negotiated version is
 * test/e2e/cni-versions.priv.test.ts.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SUPPORTED_VERSIONS } from '../../cni/contract/spec-versions.js';
import {
  ChainVersionProber,
  negotiateVersions,
  NoCommonCniVersionError,
  PluginBinaryError,
  PluginVersionProbeError,
  probePluginVersions,
  resolvePluginBinary,
} from '../../ipamd/k8s/cni-versions.js';
import { conflistOptionsFromEnv } from '../../ipamd/config/conflist.js';
import { renderConflist } from '../../ipamd/k8s/conflist.js';
import { legacySelectVersion, libcniSelectVersion } from '../cni/libcni-version.js';
import { eventually } from '../helpers/eventually.js';
import { DEBIAN_PLUGIN_VERSIONS, standInPlugin } from './daemon-harness.js';

const haveDebian = existsSync('/usr/lib/cni/portmap') && existsSync('/usr/lib/cni/bandwidth');
const tmp = (tag: string) => mkdtempSync(path.join(tmpdir(), `cniv-${tag}-`));

function script(dir: string, name: string, body: string, mode = 0o755): string {
  const f = path.join(dir, name);
  writeFileSync(f, `#!/bin/sh\n${body}\n`);
  chmodSync(f, mode);
  return f;
}
const standIn = (dir: string, name: string, versions: readonly string[]) => {
  const f = path.join(dir, name);
  writeFileSync(f, standInPlugin(versions));
  chmodSync(f, 0o755);
  return f;
};

describe('negotiateVersions', () => {
  const portmap = { type: 'portmap', versions: DEBIAN_PLUGIN_VERSIONS };
  const bandwidth = { type: 'bandwidth', versions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] };

  it('offers only what every plugin speaks: Debian 1.1.1 portmap+bandwidth give 1.0.0, never 1.1.0', () => {
    const v = negotiateVersions(SUPPORTED_VERSIONS, [portmap, bandwidth], '1.0.0');
    expect(v).toEqual({ cniVersion: '1.0.0', cniVersions: ['0.4.0', '1.0.0'], limitedBy: [] });
    // Whatever libcni reads, it runs the chain at 1.0.0.
    const o = conflistOptionsFromEnv({ VPC_IPAM_CNI_CHAIN: 'portmap,bandwidth' }, '/s', 1);
    const list = JSON.parse(renderConflist(o, v));
    expect(libcniSelectVersion(list)).toBe('1.0.0');
    expect(legacySelectVersion(list)).toBe('1.0.0');
  });

  it('keeps cniVersion at VPC_IPAM_CNI_VERSION for old runtimes, offers libcni >= 1.2 1.1.0 if all speak it', () => {
    const v = negotiateVersions(SUPPORTED_VERSIONS, [], '1.0.0');
    expect(v).toEqual({ cniVersion: '1.0.0', cniVersions: ['0.4.0', '1.0.0', '1.1.0'], limitedBy: [] });
    const list = JSON.parse(renderConflist(conflistOptionsFromEnv({ VPC_IPAM_CNI_CHAIN: 'none' }, '/s', 1), v));
    expect(libcniSelectVersion(list)).toBe('1.1.0');
    expect(legacySelectVersion(list)).toBe('1.0.0');
    expect(negotiateVersions(SUPPORTED_VERSIONS, [], '1.1.0').cniVersion).toBe('1.1.0');
    expect(negotiateVersions(SUPPORTED_VERSIONS, [], '0.4.0').cniVersion).toBe('0.4.0');
  });

  it('says which plugins hold cniVersion below the configured one', () => {
    const v = negotiateVersions(SUPPORTED_VERSIONS, [portmap, bandwidth], '1.1.0');
    expect(v).toEqual({ cniVersion: '1.0.0', cniVersions: ['0.4.0', '1.0.0'], limitedBy: ['portmap', 'bandwidth'] });
  });

  it('refuses an empty intersection and says which plugin supports what', () => {
    const old = { type: 'portmap', versions: ['0.1.0', '0.2.0', '0.3.0', '0.3.1'] };
    const err = (() => {
      try {
        negotiateVersions(SUPPORTED_VERSIONS, [old, bandwidth], '1.0.0');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(NoCommonCniVersionError);
    const e = err as NoCommonCniVersionError;
    expect(e.code).toBe('CONFIG_INVALID');
    const supported = { 'vpc-ipam': ['0.4.0', '1.0.0', '1.1.0'], portmap: old.versions, bandwidth: bandwidth.versions };
    expect(e.supported).toEqual(supported);
    expect(e.message).toBe(
      'no CNI spec version is supported by every plugin of the chain (vpc-ipam supports 0.4.0, 1.0.0, 1.1.0; ' +
        'portmap supports 0.1.0, 0.2.0, 0.3.0, 0.3.1; bandwidth supports 0.3.0, 0.3.1, 0.4.0, 1.0.0); ' +
        'upgrade the plugin or drop it from VPC_IPAM_CNI_CHAIN',
    );
    const newer = { type: 'portmap', versions: ['1.0.0', '1.1.0'] };
    expect(() => negotiateVersions(SUPPORTED_VERSIONS, [newer], '0.4.0')).toThrow(
      /VPC_IPAM_CNI_VERSION is 0.4.0, but every version/,
    );
  });
});

describe('resolvePluginBinary', () => {
  it('accepts a regular executable, and symlinks that stay inside the bin dirs', () => {
    const root = tmp('res');
    const bin = path.join(root, 'bin');
    const other = path.join(root, 'other-bin');
    mkdirSync(bin);
    mkdirSync(other);
    const real = script(bin, 'portmap-1.1.1', 'exit 0');
    symlinkSync('portmap-1.1.1', path.join(bin, 'portmap'));
    expect(resolvePluginBinary([bin], 'portmap').file).toBe(real);
    // The bin dir itself a symlink (hosts that link /opt/cni/bin elsewhere).
    symlinkSync(bin, path.join(root, 'linked'));
    expect(resolvePluginBinary([path.join(root, 'linked')], 'portmap').file).toBe(real);
    // First dir holding it wins, as libcni's FindInPath; a link into another configured dir is fine.
    symlinkSync(real, path.join(other, 'bandwidth'));
    expect(resolvePluginBinary([other, bin], 'bandwidth').file).toBe(real);
    script(other, 'portmap', 'exit 0');
    expect(resolvePluginBinary([other, bin], 'portmap').file).toBe(path.join(other, 'portmap'));
  });

  it('refuses names, paths and files it must not execute, naming the reason', () => {
    const root = tmp('bad');
    const bin = path.join(root, 'bin');
    mkdirSync(bin);
    const outside = script(root, 'evil', 'exit 0');
    symlinkSync(outside, path.join(bin, 'portmap'));
    symlinkSync('../evil', path.join(bin, 'tuning'));
    mkdirSync(path.join(bin, 'bandwidth'));
    script(bin, 'noexec', 'exit 0', 0o644);
    script(bin, 'writable', 'exit 0', 0o757);
    symlinkSync(path.join(bin, 'gone'), path.join(bin, 'dangling'));
    const refusal = (dirs: string[], type: string) => {
      try {
        resolvePluginBinary(dirs, type);
        return 'accepted';
      } catch (e) {
        expect(e).toBeInstanceOf(PluginBinaryError);
        return (e as Error).message;
      }
    };
    expect(refusal([bin], 'portmap')).toBe(`${bin}/portmap resolves to ${outside}, outside the CNI bin dirs (${bin})`);
    expect(refusal([bin], 'tuning')).toMatch(/resolves to .*\/evil, outside the CNI bin dirs/);
    expect(refusal([bin], 'bandwidth')).toMatch(/is not a regular file/);
    expect(refusal([bin], 'noexec')).toMatch(/is not executable/);
    expect(refusal([bin], 'writable')).toMatch(/is world-writable/);
    expect(refusal([bin], 'dangling')).toMatch(/not found in/);
    expect(refusal([bin], 'missing')).toBe(`plugin binary missing not found in ${bin}`);
    for (const t of ['../evil', 'a/b', '.hidden', '', 'portmap;touch x', 'x\n']) {
      expect(refusal([bin], t)).toMatch(/is not a plain file name/);
    }
    expect(refusal(['relative/bin'], 'portmap')).toMatch(/is not an absolute path/);
  });
});

describe('probePluginVersions', () => {
  const opts = { timeoutMs: 5_000, cniPath: '/opt/cni/bin' };

  it.skipIf(!haveDebian)("reads Debian's real portmap and bandwidth: 1.0.0 at most, so no 1.1.0", async () => {
    for (const type of ['portmap', 'bandwidth']) {
      const versions = await probePluginVersions(resolvePluginBinary(['/usr/lib/cni'], type), opts);
      expect(versions).toContain('1.0.0');
      expect(versions).not.toContain('1.1.0');
    }
    const p = new ChainVersionProber({ binDirs: ['/usr/lib/cni'] });
    const v = await p.negotiate(['portmap', 'bandwidth'], '1.1.0');
    expect(v).toMatchObject({ cniVersion: '1.0.0', cniVersions: ['0.4.0', '1.0.0'] });
  });

  it('runs the binary with its path as argv, a fixed environment and our version on stdin; no shell', async () => {
    const bin = tmp('argv');
    const log = path.join(bin, '..', `${path.basename(bin)}.log`);
    // $0 and $# are the argv; /proc/self/environ is exactly the environment the process got.
    const body = [
      `{ echo "argv0=$0 argc=$#"; tr '\\0' '\\n' < /proc/$$/environ; echo "stdin=$(cat)"; } > '${log}'`,
      `printf '%s' '{"cniVersion":"1.0.0","supportedVersions":["1.0.0"]}'`,
    ].join('\n');
    const f = script(bin, 'portmap', body);
    process.env.VPC_IPAM_PROBE_LEAK = 'must-not-reach-the-plugin';
    try {
      const portmap = resolvePluginBinary([bin], 'portmap');
      const versions = await probePluginVersions(portmap, { timeoutMs: 5_000, cniPath: bin });
      expect(versions).toEqual(['1.0.0']);
    } finally {
      delete process.env.VPC_IPAM_PROBE_LEAK;
    }
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines[0]).toBe(`argv0=${f} argc=0`);
    const env = ['CNI_COMMAND=VERSION', `CNI_PATH=${bin}`, 'PATH=/usr/sbin:/usr/bin:/sbin:/bin'];
    expect(lines.slice(1, -1).sort()).toEqual(env);
    expect(lines.at(-1)).toBe('stdin={"cniVersion":"1.1.0"}');
  });

  it('turns failures into typed errors: exit code with a CNI error, no JSON, no list, timeout', async () => {
    const bin = tmp('fail');
    script(bin, 'errors', `printf '{\\n "code": 1,\\n "msg": "boom",\\n "details": "why"\\n}'; exit 1`);
    script(bin, 'stderr', `echo 'panic: oops' >&2; exit 2`);
    script(bin, 'garbage', `echo 'not json'`);
    script(bin, 'nolist', `echo '{"cniVersion":"0.2.0"}'`);
    const pidFile = `${bin}.pid`;
    // A child of its own that would outlive the plugin and keep the pipes open.
    script(bin, 'hangs', `sleep 30 & echo $! > '${pidFile}'; wait`);
    script(bin, 'chatty', `yes '{"supportedVersions":["1.0.0"]}'`);
    script(bin, 'silent', 'exit 0');
    const fail = async (type: string, timeoutMs = 5_000) => {
      const err = await probePluginVersions(resolvePluginBinary([bin], type), { timeoutMs, cniPath: bin }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PluginVersionProbeError);
      return { message: (err as Error).message };
    };
    expect((await fail('errors')).message).toBe('errors VERSION failed (exit 1): boom: why');
    expect((await fail('stderr')).message).toBe('stderr VERSION failed (exit 2): panic: oops');
    expect((await fail('garbage')).message).toBe('garbage answered VERSION with no JSON: "not json"');
    expect((await fail('nolist')).message).toMatch(/^nolist answered VERSION without a supportedVersions list/);
    expect((await fail('silent')).message).toMatch(/^silent answered VERSION with no JSON/);
    const hang = await fail('hangs', 300);
    expect(hang.message).toBe('hangs did not answer VERSION within 300 ms');
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    // Gone, or a zombie waiting for whoever reaps orphans here (the kill is sent, its delivery is the kernel's).
    const state = () => {
      try {
        return readFileSync(`/proc/${grandchild}/stat`, 'utf8').split(') ')[1]![0];
      } catch {
        return 'gone';
      }
    };
    await eventually('the hung plugin gone', () => state() === 'gone' || state() === 'Z');
    expect((await fail('chatty')).message).toBe('chatty wrote more than 65536 bytes for VERSION');
  });
});

describe('ChainVersionProber', () => {
  it('asks each binary once per identity: a resync costs no run, a replaced binary is asked again', async () => {
    const bin = tmp('cache');
    const f = standIn(bin, 'portmap', DEBIAN_PLUGIN_VERSIONS);
    const p = new ChainVersionProber({ binDirs: [bin] });
    for (let i = 0; i < 3; i++) expect((await p.negotiate(['portmap'], '1.1.0')).cniVersion).toBe('1.0.0');
    expect(p.probes).toBe(1);
    // The init container of a newer image installs a portmap that speaks 1.1.0 (new inode, size, mtime).
    const next = path.join(bin, '.portmap.tmp');
    writeFileSync(next, standInPlugin([...DEBIAN_PLUGIN_VERSIONS, '1.1.0']));
    chmodSync(next, 0o755);
    renameSync(next, f);
    const v = await p.negotiate(['portmap'], '1.1.0');
    expect(v).toMatchObject({ cniVersion: '1.1.0', cniVersions: ['0.4.0', '1.0.0', '1.1.0'] });
    expect(p.probes).toBe(2);
    // Same inode and size, touched: the mtime tells.
    utimesSync(f, new Date(), new Date(Date.now() + 5_000));
    await p.negotiate(['portmap'], '1.1.0');
    expect(p.probes).toBe(3);
  });

  it('repeats a failed probe of an unchanged binary only after retryFailedMs', async () => {
    const bin = tmp('retry');
    script(bin, 'portmap', 'exit 3');
    let now = 1_000;
    const p = new ChainVersionProber({ binDirs: [bin], retryFailedMs: 30_000, now: () => now });
    await expect(p.negotiate(['portmap'], '1.0.0')).rejects.toThrow(/portmap VERSION failed \(exit 3\)/);
    await expect(p.negotiate(['portmap'], '1.0.0')).rejects.toBeInstanceOf(PluginVersionProbeError);
    expect(p.probes).toBe(1);
    now += 30_000;
    await expect(p.negotiate(['portmap'], '1.0.0')).rejects.toThrow(/exit 3/);
    expect(p.probes).toBe(2);
  });
});
