/**
 * NodeNetworkSync's part of AWS_VPC_K8S_CNI_VETHPREFIX (the connmark restore's `-i <prefix>+`, and the
 * prefixes assigned Pods' veths still carry after a change) and of DISABLE_TCP_EARLY_DEMUX, over directories
 * standing in for /proc/sys and /sys/class/net (the kernel side is in test/e2e/veth-prefix.priv.test.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hostVethName, hostVethNameFor, type VethKey } from '../../cni/contract/veth-name.js';
import { parseHostNetwork } from '../../ipamd/config.js';
import { NodeNetworkSync, type NetfilterPort } from '../../ipamd/netns/node-network.js';
import { NoopPlumber } from '../../ipamd/netns/plumber.js';
import type { NodeNetfilterSpec } from '../../ipamd/netns/snat-rules.js';
import type { NodeInventory } from '../../providers/types.js';

const NODE: NodeInventory = {
  instanceId: 'i-1',
  instanceType: 'm5.large',
  zone: 'z',
  vpcId: 'vpc-1',
  vpcCidrs: ['10.0.0.0/16'],
  interfaces: [
    {
      id: 'eni-0',
      deviceIndex: 0,
      mac: '02:00:00:00:00:01',
      subnetId: 's',
      subnetCidr: '10.0.0.0/24',
      primaryIp: '10.0.0.10',
      securityGroups: [],
      blocks: [],
      tags: {},
    },
  ],
};
const silent = { info: () => {}, warn: () => {}, error: () => {} };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'vpc-ipam-nn-'));
  dirs.push(d);
  return d;
}

function setup(env: Record<string, string>, o: { links?: string[]; assigned?: VethKey[]; demux?: string } = {}) {
  const procSys = tmp();
  const sysClassNet = tmp();
  fs.mkdirSync(path.join(procSys, 'net/ipv4'), { recursive: true });
  if (o.demux !== undefined) fs.writeFileSync(path.join(procSys, 'net/ipv4/tcp_early_demux'), `${o.demux}\n`);
  for (const l of ['lo', 'eth0', ...(o.links ?? [])]) fs.mkdirSync(path.join(sysClassNet, l));
  const specs: NodeNetfilterSpec[] = [];
  const netfilter: NetfilterPort = {
    apply: async (s) => {
      specs.push(s);
      return { backend: 'test', changed: true };
    },
    verify: async () => [],
    remove: async () => [],
  };
  const plumber = Object.assign(new NoopPlumber(), {
    setUpNodeRouting: async () => ({ primaryIf: 'eth0', changed: [] }),
  });
  const sync = new NodeNetworkSync({
    plumber,
    netfilter,
    settings: parseHostNetwork(env),
    log: silent,
    now: () => 0,
    procSys,
    sysClassNet,
    assigned: () => o.assigned ?? [],
  });
  const demux = () => fs.readFileSync(path.join(procSys, 'net/ipv4/tcp_early_demux'), 'utf8').trim();
  return { sync, specs, demux };
}

const pod = (i: number): VethKey => ({
  containerId: `c${i}`,
  ifName: 'eth0',
  pod: { namespace: 'default', name: `web-${i}` },
});

describe('node netfilter spec and AWS_VPC_K8S_CNI_VETHPREFIX', () => {
  it('unset: vpc, as before; set: the prefix', async () => {
    for (const [env, prefix] of [[{}, 'vpc'] as const, [{ AWS_VPC_K8S_CNI_VETHPREFIX: 'eni' }, 'eni'] as const]) {
      const { sync, specs } = setup(env);
      await sync.ensure(NODE);
      expect(specs.at(-1)).toMatchObject({ vethPrefix: prefix, formerVethPrefixes: [] });
    }
  });

  it("keeps a former prefix while an assigned Pod's veth carries it, and drops it when that Pod is gone", async () => {
    const old = pod(1);
    const assigned = [old, pod(2)];
    // Pod 1 was wired before the change (vpc<attachment hash>); pod 2 after (eni<sha1 of its name>).
    const links = [
      hostVethName(old.containerId, old.ifName),
      hostVethNameFor(pod(2), { prefix: 'eni' }),
      'cali0123456789a',
    ];
    const { sync, specs } = setup({ AWS_VPC_K8S_CNI_VETHPREFIX: 'eni' }, { links, assigned });
    await sync.ensure(NODE);
    // Calico's own cali veth is no Pod of ours: no rule for it.
    expect(specs.at(-1)).toMatchObject({ vethPrefix: 'eni', formerVethPrefixes: ['vpc'] });
    assigned.shift();
    await sync.ensure(NODE);
    expect(specs.at(-1)).toMatchObject({ vethPrefix: 'eni', formerVethPrefixes: [] });
  });
});

describe('DISABLE_TCP_EARLY_DEMUX', () => {
  it('true sets 0, false sets 1, unset leaves the host value; each pass is idempotent', async () => {
    const on = setup({ DISABLE_TCP_EARLY_DEMUX: 'true' }, { demux: '1' });
    await on.sync.ensure(NODE);
    expect(on.demux()).toBe('0');
    await on.sync.ensure(NODE);
    expect(on.demux()).toBe('0');
    expect(on.sync.state().problems).toEqual([]);

    const off = setup({ DISABLE_TCP_EARLY_DEMUX: 'false' }, { demux: '0' });
    await off.sync.ensure(NODE);
    expect(off.demux()).toBe('1');

    const unset = setup({}, { demux: '0' });
    await unset.sync.ensure(NODE);
    expect(unset.demux()).toBe('0');
  });

  it('a kernel without the sysctl is left alone, as the AWS CNI does', async () => {
    const { sync } = setup({ DISABLE_TCP_EARLY_DEMUX: 'true' });
    await sync.ensure(NODE);
    expect(sync.state().problems).toEqual([]);
  });
});
