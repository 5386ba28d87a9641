/**
 * The plugin process (bundle, fresh process, env + stdin) against a stand-in
 * ipamd: names it and ipamd judge alike never reach the socket when bad
 * (257-character container ID: code 4, as for any bad CNI_CONTAINERID; before:
 * sent, refused by ipamd, reported as 103), a configuration of another `type`
 * is refused (7), and (root, with a Pod netns of a child process) ADD prints
 * no prevResult key outside the spec.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Allocation } from '../../cni/contract/protocol.js';
import { bundledPlugin, cniEnv, runPlugin, type PluginCommand } from './plugin-process.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vpc-cni-trust-'));
const sock = path.join(tmp, 'ipamd.sock');
const seen: Array<{ op: string; containerId?: string }> = [];
let server: net.Server;
let plugin: PluginCommand;
let podNsHolder: ChildProcess | undefined;

const alloc: Allocation = {
  ip: '198.18.0.9',
  prefixLength: 32,
  gateway: '169.254.1.1',
  interfaceId: 'eni-1',
  deviceIndex: 0,
  routeTable: 0,
  subnetCidr: '198.18.0.0/24',
  vpcCidrs: ['198.18.0.0/16'],
  hostIf: 'vpc0123456789a',
  hostMac: '0a:00:00:00:00:01',
  podMac: '0a:00:00:00:00:02',
};

beforeAll(async () => {
  plugin = await bundledPlugin();
  server = net.createServer((s) => {
    let buf = '';
    s.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      if (!buf.includes('\n')) return;
      const req = JSON.parse(buf) as { op: string; containerId?: string };
      seen.push(req);
      const res =
        req.op === 'add'
          ? { ok: true, allocation: alloc }
          : req.op === 'del'
            ? { ok: true, released: true }
            : { ok: false, error: { code: 'INTERNAL', msg: '?' } };
      s.end(`${JSON.stringify(res)}\n`);
    });
  });
  await new Promise<void>((r) => server.listen(sock, r));
}, 60_000);
afterAll(() => {
  podNsHolder?.kill('SIGKILL');
  server?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
  if (plugin?.[1]) fs.rmSync(path.dirname(plugin[1]), { recursive: true, force: true });
});

const conf = (extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.1.0',
  name: 'vpc-net',
  type: 'vpc-ipam',
  ipamdSocket: sock,
  ...extra,
});
const del = { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c0ffee01', CNI_IFNAME: 'eth0' };

describe('the plugin process', () => {
  it('refuses a 257-character container ID with code 4 and never asks ipamd; takes 256 and a..b', async () => {
    seen.length = 0;
    const long = await runPlugin(plugin, cniEnv({ ...del, CNI_CONTAINERID: 'x'.repeat(257) }), conf());
    expect(long.json).toMatchObject({ code: 4, msg: 'Invalid environment variable CNI_CONTAINERID' });
    expect(long.json!.details).toContain('at most 256');
    expect(seen).toEqual([]);
    for (const id of ['x'.repeat(256), 'a..b']) {
      const ok = await runPlugin(plugin, cniEnv({ ...del, CNI_CONTAINERID: id }), conf());
      expect(ok.code, ok.stdout).toBe(0);
    }
    expect(seen.map((r) => r.containerId)).toEqual(['x'.repeat(256), 'a..b']);
  });

  it('refuses a configuration whose type is not vpc-ipam (7, naming the field)', async () => {
    seen.length = 0;
    const r = await runPlugin(plugin, cniEnv(del), conf({ type: 'bridge' }));
    const details = expect.stringContaining('"bridge"');
    expect(r.json).toMatchObject({ code: 7, msg: 'Invalid network configuration: type', details });
    expect(seen).toEqual([]);
  });

  it.runIf(process.getuid?.() === 0)('ADD prints no key of prevResult outside the spec', async () => {
    // A Pod netns that is not the host's: a child process's own (gone with it).
    podNsHolder = spawn('unshare', ['--net', 'sleep', '600'], { stdio: 'ignore' });
    const netns = `/proc/${podNsHolder.pid}/ns/net`;
    const ours = fs.readlinkSync('/proc/self/ns/net');
    for (let i = 0; i < 100 && fs.readlinkSync(netns) === ours; i++) await new Promise((r) => setTimeout(r, 20));
    const prevResult = JSON.parse(
      '{"__proto__":{"x":1},"cniVersion":"1.1.0","custom":{"token":"sekrit"},' +
        '"interfaces":[{"name":"br0","secret":"s"}],"ips":[{"address":"192.0.2.9/24","interface":0,"note":"n"}],' +
        '"routes":[{"dst":"192.0.2.0/24","evil":true}],"dns":{"nameservers":["192.0.2.53"],"extra":1}}',
    ) as object;
    const vars = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c0ffee01', CNI_IFNAME: 'eth0', CNI_NETNS: netns };
    const r = await runPlugin(plugin, cniEnv(vars), conf({ prevResult }));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const bad of ['sekrit', 'custom', 'secret', 'note', 'evil', 'extra', '__proto__']) {
      expect(r.stdout).not.toContain(bad);
    }
    expect(r.json).toMatchObject({
      interfaces: [{ name: 'br0' }, { name: 'vpc0123456789a' }, { name: 'eth0', sandbox: netns }],
      ips: [
        { address: '192.0.2.9/24', interface: 0 },
        { address: '198.18.0.9/32', interface: 2 },
      ],
      dns: { nameservers: ['192.0.2.53'] },
    });
  });
});
