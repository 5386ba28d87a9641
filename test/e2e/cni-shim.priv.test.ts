/**
 * The compiled shim (dist/cni/vpc-ipam, cni/shim/vpc-ipam-shim.c) end to end, executed as a runtime does:
 * - against the real ipamd (sim cloud, netlink plumbing on), ADD and DEL are run by ipamd itself (the plugin's
 *   log lines carry ipamd's pid) and answer what the Node plugin answers, errors byte for byte;
 * - its fallbacks run the Node plugin (vpc-ipam-node) instead: ipamd down (DEL tears down offline and leaves a
 *   pending release), an ipamd that refuses `exec` (a fake that knows only the older ops), stdin over 1 MiB.
 * Needs root; runs in a throwaway host netns (test/priv-setup.ts). Pod netns `vpcit-<owner>-shim-*`, container
 * IDs `shim<pid>-*`; afterAll removes them, their veths and rules even when a test failed.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostVethName } from '../../cni/contract/veth-name.js';
import { PENDING_DIR_NAME } from '../../cni/contract/pending-release.js';
import type { Response } from '../../cni/contract/protocol.js';
import {
  addNetns,
  deleteLinks,
  deleteNetnsWithPrefix,
  deleteRules,
  isRoot,
  podNsPrefix,
  runSubnet,
} from '../cni/netns-tools.js';
import { cniEnv, runPlugin, seaPlugin, shimPlugin, type PluginCommand, type PluginRun } from '../cni/plugin-process.js';
import { sampleAllocation } from '../cni/fakes.js';
import { kill, startDaemon, type DaemonHandle } from '../helpers/daemon-process.js';

const root = isRoot();
if (!root) console.log('skipping test/e2e/cni-shim.priv.test.ts: needs root (network namespaces, veth, ip rules)');

const NS = podNsPrefix('shim');
const CID = `shim${process.pid}-`;
const { cidr: SUBNET, contains: inSubnet } = runSubnet();
let shim: PluginCommand;
let sea: PluginCommand;
let ipamd: DaemonHandle | undefined;
const ids: string[] = [];
let seq = 0;

const conf = (socket: string, extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.0.0',
  name: 'vpc-net',
  type: 'vpc-ipam',
  ipamdSocket: socket,
  logFile: path.join(path.dirname(socket), 'cni.log'),
  logLevel: 'debug',
  ...extra,
});

async function pod(): Promise<{ containerId: string; netns: string }> {
  const n = seq++;
  ids.push(`${CID}${n}`);
  return { containerId: `${CID}${n}`, netns: await addNetns(`${NS}${n}`) };
}

const env = (cmd: string, p: { containerId: string; netns?: string }, ifName = 'eth0') =>
  cniEnv({ CNI_COMMAND: cmd, CNI_CONTAINERID: p.containerId, CNI_NETNS: p.netns, CNI_IFNAME: ifName });

/** The plugin's log lines (the file named by `conf`) with the given message. */
function logLines(socket: string, msg: string): Array<{ pid: number; containerId?: string }> {
  const file = path.join(path.dirname(socket), 'cni.log');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { pid: number; msg: string; containerId?: string })
    .filter((l) => l.msg === msg);
}

/** A result with what differs between two Pods (addresses, MACs, names) blanked, to compare shapes. */
const shape = (r: PluginRun) => JSON.stringify(r.json).replace(/"[0-9a-f:./]{7,}"|"vpc[0-9a-f]+"|"\/[^"]*"/g, '"_"');

describe.skipIf(!root)('vpc-ipam shim (root)', () => {
  beforeAll(async () => {
    [shim, sea] = [await shimPlugin(), await seaPlugin()];
    ipamd = await startDaemon({
      VPC_IPAM_PLUMBING: 'on',
      VPC_IPAM_SIM_SUBNET_CIDR: SUBNET,
      VPC_IPAM_SIM_INSTANCE_TYPE: 'm5.large',
      VPC_IPAM_METRICS_ADDRESS: 'off',
    });
  }, 120_000);

  afterAll(async () => {
    for (const id of ids) await runPlugin(sea, env('DEL', { containerId: id }), conf(ipamd!.socket)).catch(() => {});
    if (ipamd) await kill(ipamd, 'SIGKILL');
    await deleteLinks(ids.map((id) => hostVethName(id, 'eth0')));
    await deleteRules(inSubnet);
    await deleteNetnsWithPrefix(NS);
    if (ipamd) fs.rmSync(ipamd.dir, { recursive: true, force: true });
  });

  it('runs ADD and DEL inside ipamd, answering what the Node plugin answers', async () => {
    const h = ipamd!;
    const [a, b] = [await pod(), await pod()];
    const viaShim = await runPlugin(shim, env('ADD', a), conf(h.socket));
    const viaSea = await runPlugin(sea, env('ADD', b), conf(h.socket));
    expect(viaShim.code, viaShim.stdout).toBe(0);
    expect(viaSea.code, viaSea.stdout).toBe(0);
    expect(shape(viaShim)).toBe(shape(viaSea));
    // The shim's ADD was logged by ipamd's process, the single executable's by its own.
    expect(logLines(h.socket, 'added').find((l) => l.containerId === a.containerId)?.pid).toBe(h.proc.pid);
    expect(logLines(h.socket, 'added').find((l) => l.containerId === b.containerId)?.pid).not.toBe(h.proc.pid);

    const delShim = await runPlugin(shim, env('DEL', a), { ...conf(h.socket), prevResult: viaShim.json });
    const delSea = await runPlugin(sea, env('DEL', b), { ...conf(h.socket), prevResult: viaSea.json });
    expect([delShim.code, delShim.stdout]).toEqual([0, '']);
    expect([delSea.code, delSea.stdout]).toEqual([0, '']);
    expect(logLines(h.socket, 'deleted').find((l) => l.containerId === a.containerId)?.pid).toBe(h.proc.pid);
  });

  it('refuses what the Node plugin refuses, byte for byte, before touching the kernel', async () => {
    const h = ipamd!;
    const p = await pod();
    const cases: Array<[string, NodeJS.ProcessEnv, object | string]> = [
      ['bad interface name', env('ADD', p, 'eth/0'), conf(h.socket)],
      ['the host namespace', env('ADD', { ...p, netns: '/proc/1/ns/net' }), conf(h.socket)],
      ['a missing netns', env('ADD', { ...p, netns: '/run/netns/vpc-shim-none' }), conf(h.socket)],
      ['no container ID', cniEnv({ CNI_COMMAND: 'DEL', CNI_IFNAME: 'eth0' }), conf(h.socket)],
      ['stdin not JSON', env('ADD', p), `{"ipamdSocket":"${h.socket}",`],
    ];
    for (const [what, e, stdin] of cases) {
      const [s, n] = [await runPlugin(shim, e, stdin), await runPlugin(sea, e, stdin)];
      expect([s.code, s.stdout], what).toEqual([n.code, n.stdout]);
      expect(s.code, what).not.toBe(0);
    }
  });

  it('ipamd down: DEL falls back to the Node plugin: offline teardown and a pending release', async () => {
    const dir = fs.mkdtempSync(path.join(ipamd!.dir, 'down-'));
    const socket = path.join(dir, 'ipamd.sock');
    const p = await pod();
    const r = await runPlugin(shim, env('DEL', p), conf(socket));
    expect([r.code, r.stdout]).toEqual([0, '']);
    expect(fs.readdirSync(path.join(dir, PENDING_DIR_NAME)).length).toBe(1);
    expect(logLines(socket, 'pending release recorded').length).toBe(1);
  });

  it('an ipamd that refuses exec (older, or a fake): the Node plugin answers, and ADD is asked once more', async () => {
    const dir = fs.mkdtempSync(path.join(ipamd!.dir, 'old-'));
    const socket = path.join(dir, 'ipamd.sock');
    const ops: string[] = [];
    const old = net.createServer((c) => {
      c.setEncoding('utf8');
      let buf = '';
      c.on('data', (d: string) => {
        buf += d;
        if (!buf.includes('\n')) return;
        const op = (JSON.parse(buf.split('\n')[0]!) as { op: string }).op;
        ops.push(op);
        const res: Response =
          op === 'add'
            ? { ok: true, allocation: sampleAllocation }
            : { ok: false, error: { code: 'BAD_REQUEST', msg: 'op: Invalid discriminator value' } };
        c.end(`${JSON.stringify(res)}\n`);
      });
    });
    await new Promise<void>((resolve) => old.listen(socket, resolve));
    try {
      const p = await pod();
      const viaShim = await runPlugin(shim, env('ADD', p), conf(socket));
      expect(ops).toEqual(['exec', 'add']);
      const viaSea = await runPlugin(sea, env('ADD', p), conf(socket));
      expect([viaShim.code, viaShim.stdout]).toEqual([viaSea.code, viaSea.stdout]);
      expect(viaShim.code).toBe(0);

      // Over 1 MiB of stdin is not sent as exec at all.
      ops.length = 0;
      const big = await runPlugin(shim, env('ADD', p), conf(socket, { padding: 'x'.repeat(1100 * 1024) }));
      expect(ops).toEqual(['add']);
      expect(big.code, big.stdout).toBe(0);
    } finally {
      await new Promise<void>((resolve) => old.close(() => resolve()));
    }
  });

  it('another verb goes to the Node plugin without a connection (VERSION)', async () => {
    const r = await runPlugin(shim, cniEnv({ CNI_COMMAND: 'VERSION' }), '{"cniVersion":"1.0.0"}');
    expect(r.json).toEqual({ cniVersion: '1.0.0', supportedVersions: ['0.4.0', '1.0.0', '1.1.0'] });
  });
});
