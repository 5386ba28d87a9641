/**
 * Privileged: the conflist ipamd writes, run the way a libcni >= 1.2 runtime
 * (containerd 2.x) runs it, through the whole chain with Debian's real
 * portmap and bandwidth (containernetworking-plugins 1.1.1) and the real
 * vpc-ipam plugin against a real ipamd (sim cloud, netlink plumbing on).
 *
 * - The versions come from the negotiation with the binaries in a CNI bin dir
 *   (ipamd/k8s/cni-versions.ts); libcni's choice (test/cni/libcni-version.ts)
 *   is 1.0.0, and ADD, ping, DEL of the chain work at it.
 * - The conflist ipamd wrote before (`cniVersion` 1.0.0, `cniVersions`
 *   ["1.0.0","1.1.0"]) makes libcni pick 1.1.0, which portmap refuses on ADD,
 *   and bandwidth on the DEL the runtime sends next.
 *
 * Runs in a throwaway host netns (test/priv-setup.ts); Pod netns are
 * `vpcit-<owner>-cnv-*`, container IDs `cnv<pid>-*`, removed in afterAll.
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainVersionProber, probePluginVersions, resolvePluginBinary } from '../../ipamd/k8s/cni-versions.js';
import { conflistOptionsFromEnv } from '../../ipamd/config/conflist.js';
import { renderConflist } from '../../ipamd/k8s/conflist.js';
import { hostVethName } from '../../cni/contract/veth-name.js';
import { ChainError, ChainRunner, type Attachment } from '../cni/chain-runner.js';
import { asRunByLibcni, legacySelectVersion, libcniSelectVersion } from '../cni/libcni-version.js';
import {
  addNetns,
  deleteLinks,
  deleteNetnsWithPrefix,
  deleteRules,
  isRoot,
  linkNames,
  ping,
  podNsPrefix,
  runSubnet,
} from '../cni/netns-tools.js';
import { bundledPlugin, cniEnv, runPlugin, type PluginCommand } from '../cni/plugin-process.js';
import { getJson, kill, startDaemon, type DaemonHandle } from '../helpers/daemon-process.js';
import { keptVethsGone } from '../helpers/kept-veths.js';

const root = isRoot();
const haveDebian = fs.existsSync('/usr/lib/cni/portmap') && fs.existsSync('/usr/lib/cni/bandwidth');
if (!root) console.log('skipping test/e2e/cni-versions.priv.test.ts: needs root (network namespaces, veth, iptables)');
else if (!haveDebian) {
  console.log('cni-versions.priv: no /usr/lib/cni/{portmap,bandwidth}: apt-get install containernetworking-plugins');
}

const NS = podNsPrefix('cnv');
const CID = `cnv${process.pid}-`;
const { cidr: SUBNET, contains: inSubnet } = runSubnet(7);
const containerIds = new Set<string>();
let plugin: PluginCommand;
let ipamd: DaemonHandle;
/** A CNI bin dir like the host's: copies of the Debian binaries the image ships. */
let binDir: string;

type Conflist = { cniVersion: string; cniVersions: string[]; name: string; plugins: Array<Record<string, unknown>> };

/** The conflist ipamd's agent writes for VPC_IPAM_CNI_CHAIN=portmap,bandwidth (same functions, same inputs). */
async function generatedConflist(cniVersionSetting: string): Promise<Conflist> {
  const env = {
    VPC_IPAM_CNI_CHAIN: 'portmap,bandwidth',
    VPC_IPAM_CNI_VERSION: cniVersionSetting,
    VPC_IPAM_CNI_LOG_FILE: path.join(ipamd.dir, 'cni.log'),
    VPC_IPAM_CNI_LOG_LEVEL: 'debug',
  };
  const o = conflistOptionsFromEnv(env, ipamd.socket, 10_000);
  const v = await new ChainVersionProber({ binDirs: [binDir] }).negotiate(o.chain, o.cniVersion);
  return JSON.parse(renderConflist(o, v)) as Conflist;
}

/** The chain as libcni >= 1.2 runs the conflist: its chosen version in every request. */
const runner = (conflist: Conflist) =>
  new ChainRunner(asRunByLibcni(conflist), (type) => (type === 'vpc-ipam' ? plugin : [path.join(binDir, type)]));

let seq = 0;
async function newPod(): Promise<Attachment> {
  const n = seq++;
  const containerId = `${CID}${n}`;
  containerIds.add(containerId);
  return {
    containerId,
    netns: await addNetns(`${NS}${n}`),
    ifName: 'eth0',
    args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=e2e;K8S_POD_NAME=cnv-${n};K8S_POD_UID=uid-${n}`,
    capabilityArgs: {
      portMappings: [{ hostPort: 31000 + n, containerPort: 80, protocol: 'tcp' }],
      bandwidth: { ingressRate: 1e8, ingressBurst: 1e7, egressRate: 1e8, egressBurst: 1e7 },
    },
  };
}
const assignments = async () => {
  const all = (await getJson<{ assignments: Array<{ containerId: string }> }>(ipamd, '/v1/assignments')).assignments;
  return all.filter((a) => a.containerId.startsWith(CID));
};
const hostVeths = async (ids: string[]) => {
  await keptVethsGone(
    linkNames,
    ids.map((id) => hostVethName(id, 'eth0')),
  );
  const names = new Set(await linkNames());
  return ids.map((id) => hostVethName(id, 'eth0')).filter((n) => names.has(n));
};

describe.skipIf(!root || !haveDebian)('the generated conflist with the real Debian chain (root)', () => {
  beforeAll(async () => {
    binDir = fs.mkdtempSync(path.join(tmpdir(), 'cnv-bin-'));
    for (const p of ['portmap', 'bandwidth']) {
      fs.copyFileSync(`/usr/lib/cni/${p}`, path.join(binDir, p));
      fs.chmodSync(path.join(binDir, p), 0o755);
    }
    plugin = await bundledPlugin();
    ipamd = await startDaemon({
      VPC_IPAM_PLUMBING: 'on',
      VPC_IPAM_SIM_SUBNET_CIDR: SUBNET,
      VPC_IPAM_METRICS_ADDRESS: 'off',
    });
  }, 120_000);

  afterAll(async () => {
    if (ipamd) await kill(ipamd, 'SIGKILL');
    await deleteLinks([...containerIds].map((id) => hostVethName(id, 'eth0')));
    await deleteRules(inSubnet);
    await deleteNetnsWithPrefix(NS);
    if (ipamd) fs.rmSync(ipamd.dir, { recursive: true, force: true });
    if (binDir) fs.rmSync(binDir, { recursive: true, force: true });
    if (plugin) fs.rmSync(path.dirname(plugin[1]!), { recursive: true, force: true });
  }, 60_000);

  it('offers 0.4.0, 1.0.0: every libcni runs it at 1.0.0, and ADD, ping, DEL of the chain work', async () => {
    for (const setting of ['1.0.0', '1.1.0']) {
      const list = await generatedConflist(setting);
      expect(list).toMatchObject({ cniVersion: '1.0.0', cniVersions: ['0.4.0', '1.0.0'] });
      expect(libcniSelectVersion(list)).toBe('1.0.0');
      expect(legacySelectVersion(list)).toBe('1.0.0');
    }
    const chain = runner(await generatedConflist('1.0.0'));
    const pod = await newPod();
    const { result } = await chain.add(pod);
    expect(result.cniVersion).toBe('1.0.0');
    const ifs = result.interfaces as Array<{ name: string }>;
    // bandwidth ran last and appended its ifb: the whole chain passed.
    const names = [hostVethName(pod.containerId, 'eth0'), 'eth0', expect.stringMatching(/^bwp/)];
    expect(ifs.map((i) => i.name)).toEqual(names);
    const podIp = (result.ips as Array<{ address: string }>)[0]!.address.split('/')[0]!;
    expect(inSubnet(podIp)).toBe(true);
    expect(await ping(podIp), `ping ${podIp}`).toBe(true);
    await chain.del(pod, result);
    await chain.del(pod, result);
    expect(await hostVeths([pod.containerId])).toEqual([]);
    expect(await assignments()).toEqual([]);
  });

  it('the conflist ipamd wrote before: libcni >= 1.2 picks 1.1.0, portmap refuses ADD, bandwidth DEL', async () => {
    const portmap = resolvePluginBinary([binDir], 'portmap');
    const portmapVersions = await probePluginVersions(portmap, { timeoutMs: 5_000, cniPath: binDir });
    expect(portmapVersions).toContain('1.0.0');
    expect(portmapVersions).not.toContain('1.1.0');
    // renderConflist before the negotiation, with the default VPC_IPAM_CNI_VERSION=1.0.0.
    const old = { ...(await generatedConflist('1.0.0')), cniVersion: '1.0.0', cniVersions: ['1.0.0', '1.1.0'] };
    expect(libcniSelectVersion(old)).toBe('1.1.0');
    const chain = runner(old);
    const pod = await newPod();
    const add = await chain.add(pod).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(add).toBeInstanceOf(ChainError);
    expect((add as ChainError).plugin).toBe('portmap');
    expect((add as ChainError).run.json).toMatchObject({
      code: 1,
      msg: 'incompatible CNI versions',
      details: expect.stringContaining('config is "1.1.0"'),
    });
    // The runtime then tears the sandbox down with the same config: the first plugin of the reversed chain refuses too.
    const del = await chain.del(pod).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(del).toBeInstanceOf(ChainError);
    expect((del as ChainError).plugin).toBe('bandwidth');
    expect((del as ChainError).run.json).toMatchObject({ code: 1, msg: 'incompatible CNI versions' });
    // vpc-ipam itself spoke 1.1.0 and wired the Pod; release it directly.
    expect(await assignments()).toHaveLength(1);
    const ours = old.plugins[0]!;
    const env = cniEnv({
      CNI_COMMAND: 'DEL',
      CNI_CONTAINERID: pod.containerId,
      CNI_NETNS: pod.netns,
      CNI_IFNAME: 'eth0',
    });
    const r = await runPlugin(plugin, env, { ...ours, cniVersion: '1.1.0', name: old.name });
    expect(r.code, r.stdout).toBe(0);
    expect(await hostVeths([pod.containerId])).toEqual([]);
    expect(await assignments()).toEqual([]);
  });
});
