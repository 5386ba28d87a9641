/**
 * The CNI conflist: what it contains (and that the plugin's own parser
 * accepts it), atomic installation, installation only once ipamd can serve
 * and the plugin binaries are in place, kept on restart, removed on
 * uninstall (the DaemonSet is gone); its CNI versions are ones every chained
 * plugin speaks, and with none such it is not written (a working one is kept).
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig as parsePluginConfig } from '../../cni/config.js';
import { conflistOptionsFromEnv } from '../../ipamd/config/conflist.js';
import {
  configsBefore,
  installConflist,
  missingBinaries,
  removeConflist,
  renderConflist,
} from '../../ipamd/k8s/conflist.js';
import { installBinaries, standInPlugin, startK8sDaemon, type K8sDaemon } from './daemon-harness.js';
import { nodeObject, seedSimCloud, startFakeCluster, until, type FakeCluster } from './helpers.js';

describe('conflist rendering and installation', () => {
  it('renders a list the plugin parses, with the chained plugins', () => {
    const o = conflistOptionsFromEnv(
      { POD_MTU: '1500', VPC_IPAM_CNI_CHAIN: 'portmap,bandwidth' },
      '/run/vpc-ipam/ipamd.sock',
      10_000,
    );
    const versions = { cniVersion: '1.0.0', cniVersions: ['0.4.0', '1.0.0'] };
    type List = { cniVersion: string; cniVersions: string[]; name: string; plugins: Array<Record<string, unknown>> };
    const list = JSON.parse(renderConflist(o, versions)) as List;
    expect(list).toMatchObject(versions);
    expect(list.plugins.map((p) => p.type)).toEqual(['vpc-ipam', 'portmap', 'bandwidth']);
    // libcni hands each plugin its entry plus the list's name and cniVersion.
    const cfg = parsePluginConfig({ ...list.plugins[0], name: list.name, cniVersion: list.cniVersion });
    expect(cfg).toMatchObject({
      name: 'vpc-ipam',
      type: 'vpc-ipam',
      ipamdSocket: '/run/vpc-ipam/ipamd.sock',
      mtu: 1500,
      addWaitMs: 10_000,
    });
  });

  it('writes AWS_VPC_K8S_CNI_VETHPREFIX as the vethPrefix the plugin names veths by (absent for our own)', () => {
    const versions = { cniVersion: '1.0.0', cniVersions: ['1.0.0'] };
    const entry = (env: Record<string, string>) =>
      (JSON.parse(renderConflist(conflistOptionsFromEnv(env, '/s', 1), versions)) as { plugins: object[] }).plugins[0]!;
    expect(entry({ AWS_VPC_K8S_CNI_VETHPREFIX: 'eni' })).toMatchObject({ vethPrefix: 'eni' });
    const list = { ...entry({ AWS_VPC_K8S_CNI_VETHPREFIX: 'eni' }), name: 'vpc-ipam', cniVersion: '1.0.0' };
    expect(parsePluginConfig(list).vethPrefix).toBe('eni');
    expect(entry({})).not.toHaveProperty('vethPrefix');
    expect(entry({ AWS_VPC_K8S_CNI_VETHPREFIX: 'vpc' })).not.toHaveProperty('vethPrefix');
    expect(() => conflistOptionsFromEnv({ AWS_VPC_K8S_CNI_VETHPREFIX: 'vlan' }, '/s', 1)).toThrow(
      /AWS_VPC_K8S_CNI_VETHPREFIX: "vlan" is reserved/,
    );
  });

  it('rejects bad variables by name', () => {
    expect(() => conflistOptionsFromEnv({ POD_MTU: '100' }, '/s', 1)).toThrow(/POD_MTU/);
    expect(() => conflistOptionsFromEnv({ VPC_IPAM_CNI_CHAIN: 'flannel' }, '/s', 1)).toThrow(
      /VPC_IPAM_CNI_CHAIN: unknown plugin "flannel"/,
    );
    expect(() => conflistOptionsFromEnv({ VPC_IPAM_CNI_VERSION: '0.3.1' }, '/s', 1)).toThrow(/VPC_IPAM_CNI_VERSION/);
    expect(() => conflistOptionsFromEnv({ VPC_IPAM_CNI_LOG_FILE: 'rel/p.log' }, '/s', 1)).toThrow(
      /VPC_IPAM_CNI_LOG_FILE/,
    );
  });

  it('installs atomically, idempotently, and reports configs that would shadow it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'netd-'));
    expect(installConflist(dir, '{"a":1}\n')).toBe(true);
    expect(installConflist(dir, '{"a":1}\n')).toBe(false);
    expect(installConflist(dir, '{"a":2}\n')).toBe(true);
    expect(readdirSync(dir)).toEqual(['10-vpc-ipam.conflist']); // no temp file left behind
    writeFileSync(path.join(dir, '05-other.conflist'), '{}');
    writeFileSync(path.join(dir, '99-late.conf'), '{}');
    expect(configsBefore(dir)).toEqual(['05-other.conflist']);
    expect(removeConflist(dir)).toBe(true);
    expect(removeConflist(dir)).toBe(false);
    expect(missingBinaries(dir, { chain: ['portmap'] })).toEqual(['vpc-ipam', 'portmap']);
  });
});

describe('conflist lifecycle in the daemon', () => {
  let c: FakeCluster;
  const daemons: K8sDaemon[] = [];
  beforeAll(async () => {
    c = await startFakeCluster();
  });
  afterAll(async () => {
    for (const d of daemons) await d.running.stop().catch(() => {});
    await c.server.stop();
  });

  function prepare(name: string) {
    const dir = mkdtempSync(path.join(tmpdir(), `ipamd-${name}-`));
    const cloud = seedSimCloud(path.join(dir, 'state'));
    c.server.create('nodes', nodeObject(name, { providerID: `aws:///${cloud.zone}/${cloud.instanceId}` }));
    // The DaemonSet and our Pod, owned by it (what uninstall detection reads).
    if (!c.server.list('daemonsets', 'kube-system').length)
      c.server.create('daemonsets', { metadata: { name: 'vpc-ipam-node' }, spec: {} }, 'kube-system');
    const ds = c.server.get('daemonsets', 'vpc-ipam-node', 'kube-system');
    c.server.create(
      'pods',
      {
        metadata: {
          name: `vpc-ipam-node-${name}`,
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'vpc-ipam-node', uid: ds.metadata.uid, controller: true },
          ],
        },
        spec: { nodeName: name, hostNetwork: true, containers: [] },
        status: { phase: 'Running' },
      },
      'kube-system',
    );
    return { dir, env: { MY_POD_NAME: `vpc-ipam-node-${name}`, POD_NAMESPACE: 'kube-system' } };
  }

  it(
    'is written only once ipamd is healthy and the binaries are installed; kept on restart; removed on ' + 'uninstall',
    async () => {
      const { dir, env } = prepare('cl-1');
      const d = await startK8sDaemon(c, 'cl-1', { dir, env, binaries: false });
      const file = path.join(d.confDir, '10-vpc-ipam.conflist');
      const healthy = await fetch(`http://${d.introspection}/healthz`);
      expect(healthy.status).toBe(200);
      // Healthy, but the init container has not installed the plugin: still no config (node stays NotReady).
      await until('the agent saw the missing binaries', () =>
        d.running.k8s!.conflistBlockedBy?.includes('plugin binaries missing'),
      );
      expect(existsSync(file)).toBe(false);
      installBinaries(d.binDir);
      await until('conflist installed', () => existsSync(file));
      type List = { cniVersion: string; cniVersions: string[]; plugins: Array<{ ipamdSocket: string }> };
      const list = JSON.parse(readFileSync(file, 'utf8')) as List;
      expect(list.plugins[0]!.ipamdSocket).toBe(d.socket);
      // The stand-in portmap answers VERSION like Debian's 1.1.1: nothing above 1.0.0 is offered.
      expect(list).toMatchObject({ cniVersion: '1.0.0', cniVersions: ['0.4.0', '1.0.0'] });
      expect(d.running.k8s!.conflistInstalledAt).toBeDefined();

      // Restart (rolling update): the DaemonSet still exists, the file stays.
      await d.running.stop();
      expect(existsSync(file)).toBe(true);

      // Uninstall: the DaemonSet is deleted, then its Pods get SIGTERM.
      const d2 = await startK8sDaemon(c, 'cl-1', { dir, env });
      c.server.remove('daemonsets', 'vpc-ipam-node', 'kube-system');
      await d2.running.stop();
      expect(existsSync(file)).toBe(false);
    },
  );

  it('a DaemonSet being deleted (foreground) is an uninstall; an unreachable API server is not', async () => {
    const { dir, env } = prepare('cl-2');
    const d = await startK8sDaemon(c, 'cl-2', { dir, env });
    const file = path.join(d.confDir, '10-vpc-ipam.conflist');
    await until('conflist installed', () => existsSync(file));
    c.server.unavailable = true;
    await d.running.stop();
    c.server.unavailable = false;
    expect(existsSync(file)).toBe(true);

    const d2 = await startK8sDaemon(c, 'cl-2', { dir, env });
    daemons.push(d2);
    c.server.mutate(
      'daemonsets',
      'vpc-ipam-node',
      (o) => (o.metadata.deletionTimestamp = new Date().toISOString()),
      'kube-system',
    );
    await d2.running.stop();
    daemons.pop();
    expect(existsSync(file)).toBe(false);
  });
  it('with no version all chained plugins speak: not written, reason and Event; an old one is kept', async () => {
    const { dir, env } = prepare('cl-3');
    const confDir = path.join(dir, 'net.d');
    const binDir = path.join(dir, 'bin');
    // What an older ipamd wrote, with the portmap it had: it works, so it must survive the refusal.
    mkdirSync(confDir, { recursive: true });
    const file = path.join(confDir, '10-vpc-ipam.conflist');
    writeFileSync(file, '{"cniVersion":"0.4.0","name":"vpc-ipam","plugins":[]}\n');
    installBinaries(binDir, ['vpc-ipam']);
    installBinaries(binDir, ['portmap'], ['0.1.0', '0.2.0', '0.3.0', '0.3.1']);
    const d = await startK8sDaemon(c, 'cl-3', { dir, env, binaries: false });
    daemons.push(d);
    const why =
      'CNI versions: no CNI spec version is supported by every plugin of the chain (vpc-ipam supports 0.4.0, ' +
      '1.0.0, 1.1.0; portmap supports 0.1.0, 0.2.0, 0.3.0, 0.3.1); ' +
      'upgrade the plugin or drop it from VPC_IPAM_CNI_CHAIN';
    await until('the agent refused the versions', () => d.running.k8s!.conflistBlockedBy === why);
    const ev = await until('Event', () =>
      c.server
        .list('events')
        .find((e) => e.reason === 'CniVersionMismatch' && (e.involvedObject as { name: string }).name === 'cl-3'),
    );
    expect(ev.type).toBe('Warning');
    expect(ev.message).toContain('portmap supports 0.1.0, 0.2.0, 0.3.0, 0.3.1');
    expect(readFileSync(file, 'utf8')).toBe('{"cniVersion":"0.4.0","name":"vpc-ipam","plugins":[]}\n');
    expect(d.running.k8s!.conflistInstalledAt).toBeUndefined();

    // A newer image's init container renames in a portmap that speaks 1.0.0 and 1.1.0: written, with what all speak.
    const next = path.join(binDir, '.portmap.tmp');
    writeFileSync(next, standInPlugin(['0.4.0', '1.0.0', '1.1.0']));
    chmodSync(next, 0o755);
    renameSync(next, path.join(binDir, 'portmap'));
    await until('conflist installed', () => d.running.k8s!.conflistInstalledAt !== undefined);
    const written = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    expect(written).toMatchObject({ cniVersion: '1.0.0', cniVersions: ['0.4.0', '1.0.0', '1.1.0'] });
    expect(d.running.k8s!.conflistBlockedBy).toBeUndefined();
  });
});
