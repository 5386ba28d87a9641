/**
 * Bad input, run as a runtime runs the plugin (fresh process, env + stdin):
 * each case gets the right spec error code on stdout, a non-zero exit, and
 * changes nothing: ipamd is never contacted and no file appears.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledPlugin, cniEnv, runPlugin, type PluginCommand } from './plugin-process.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vpc-cni-bad-'));
const sock = path.join(tmp, 'ipamd.sock');
const seen: string[] = [];
let server: net.Server;
let plugin: PluginCommand;

beforeAll(async () => {
  plugin = await bundledPlugin();
  // A stand-in ipamd that records every request and answers like a healthy one.
  server = net.createServer((s) => {
    let buf = '';
    s.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      if (!buf.includes('\n')) return;
      seen.push(buf.trim());
      const op = (JSON.parse(buf) as { op: string }).op;
      const reply =
        op === 'del' ? { ok: true, released: false } : { ok: false, error: { code: 'INTERNAL', msg: 'unexpected' } };
      s.end(`${JSON.stringify(reply)}\n`);
    });
  });
  await new Promise<void>((r) => server.listen(sock, r));
}, 60_000);
afterAll(() => {
  execFileSync('ip', ['netns', 'del', podNs]);
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
// A namespace that is not the host's, so that each case fails at its own field and not at CNI_NETNS.
const podNs = `vpct-bad-${process.pid}`;
execFileSync('ip', ['netns', 'add', podNs]);
const add = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c0ffee01',
  CNI_IFNAME: 'eth0',
  CNI_NETNS: `/var/run/netns/${podNs}`,
  CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0',
};
const missingNs = `/var/run/netns/vpct-bad-${process.pid}-does-not-exist`;

const cases: Array<[string, Record<string, string | undefined>, string | object, number, string?]> = [
  ['malformed JSON', add, '{"cniVersion": "1.1.0", ', 6],
  ['JSON that is not an object', add, '[]', 6],
  ['missing CNI_COMMAND', { ...add, CNI_COMMAND: undefined }, conf(), 4, 'CNI_COMMAND'],
  ['unknown CNI_COMMAND', { ...add, CNI_COMMAND: 'ATTACH' }, conf(), 4, 'CNI_COMMAND'],
  ['missing CNI_CONTAINERID', { ...add, CNI_CONTAINERID: undefined }, conf(), 4, 'CNI_CONTAINERID'],
  ['container ID with /', { ...add, CNI_CONTAINERID: 'abc/def' }, conf(), 4, 'CNI_CONTAINERID'],
  ['container ID ..', { ...add, CNI_CONTAINERID: '..' }, conf(), 4, 'CNI_CONTAINERID'],
  ['container ID ../../etc', { ...add, CNI_CONTAINERID: '../../etc' }, conf(), 4, 'CNI_CONTAINERID'],
  [
    'container ID on DEL with /',
    { ...add, CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'x/../../y' },
    conf(),
    4,
    'CNI_CONTAINERID',
  ],
  ['missing CNI_IFNAME', { ...add, CNI_IFNAME: undefined }, conf(), 4, 'CNI_IFNAME'],
  ['CNI_IFNAME too long', { ...add, CNI_IFNAME: 'eth0123456789abc' }, conf(), 4, 'CNI_IFNAME'],
  ['CNI_IFNAME ..', { ...add, CNI_IFNAME: '..' }, conf(), 4, 'CNI_IFNAME'],
  ['CNI_IFNAME with /', { ...add, CNI_IFNAME: 'a/b' }, conf(), 4, 'CNI_IFNAME'],
  ['unknown CNI_ARGS key', { ...add, CNI_ARGS: 'FOO=bar' }, conf(), 4, 'CNI_ARGS'],
  ['missing CNI_NETNS on ADD', { ...add, CNI_NETNS: undefined }, conf(), 4, 'CNI_NETNS'],
  ['relative CNI_NETNS', { ...add, CNI_NETNS: 'var/run/netns/x' }, conf(), 4, 'CNI_NETNS'],
  ['CNI_NETNS that is not a netns', { ...add, CNI_NETNS: '/etc/hosts' }, conf(), 4, 'CNI_NETNS'],
  ['CNI_NETNS of the host, as /proc/self', { ...add, CNI_NETNS: '/proc/self/ns/net' }, conf(), 4, "host's network"],
  ['CNI_NETNS of the host, as /proc/thread-self', { ...add, CNI_NETNS: '/proc/thread-self/ns/net' }, conf(), 4, 'host'],
  ['CNI_NETNS of the host, as this test', { ...add, CNI_NETNS: `/proc/${process.pid}/ns/net` }, conf(), 4, 'host'],
  ['nonexistent netns on ADD', { ...add, CNI_NETNS: missingNs }, conf(), 3, 'does not exist'],
  ['nonexistent netns on CHECK', { ...add, CNI_COMMAND: 'CHECK', CNI_NETNS: missingNs }, conf(), 3],
  ['unsupported cniVersion', add, conf({ cniVersion: '0.3.1' }), 1, '0.3.1'],
  ['missing cniVersion', add, { name: 'vpc-net', type: 'vpc-ipam' }, 1],
  ['STATUS below 1.1.0', { CNI_COMMAND: 'STATUS' }, conf({ cniVersion: '1.0.0' }), 1],
  ['GC without valid-attachments', { CNI_COMMAND: 'GC' }, conf(), 7, 'valid-attachments'],
  ['invalid network name', add, conf({ name: '../x' }), 7, 'name'],
  ['invalid mtu', add, conf({ mtu: 65 }), 7, 'mtu'],
  ['relative ipamdSocket', add, conf({ ipamdSocket: 'ipamd.sock' }), 7, 'ipamdSocket'],
  ['an ipam section', add, conf({ ipam: { type: 'host-local' } }), 2, 'ipam='],
  ['ipMasq true', add, conf({ ipMasq: true }), 2, 'ipMasq=true'],
];

describe('the plugin process refuses bad input', () => {
  it.each(cases)('%s', async (_name, vars, stdin, code, mention) => {
    const before = fs.readdirSync(tmp).sort();
    const r = await runPlugin(plugin, cniEnv(vars), stdin);
    expect(r.code, r.stderr).not.toBe(0);
    // stdout is exactly one JSON document: the spec error object.
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.json).toMatchObject({ code, msg: expect.any(String), details: expect.any(String) });
    expect(Object.keys(r.json!).sort()).toEqual(['cniVersion', 'code', 'details', 'msg']);
    if (mention) expect(`${r.json!.msg} ${r.json!.details}`).toContain(mention);
    expect(seen, 'ipamd must not be contacted').toEqual([]);
    expect(fs.readdirSync(tmp).sort()).toEqual(before);
  });

  it('echoes the requested cniVersion in errors', async () => {
    const r = await runPlugin(plugin, cniEnv({ ...add, CNI_CONTAINERID: '..' }), conf({ cniVersion: '1.0.0' }));
    expect(r.json).toMatchObject({ cniVersion: '1.0.0', code: 4 });
    const v = await runPlugin(plugin, cniEnv(add), conf({ cniVersion: '0.3.1' }));
    expect(v.json).toMatchObject({ cniVersion: '0.3.1', code: 1 });
  });

  it('answers VERSION, even with empty stdin', async () => {
    const r = await runPlugin(plugin, cniEnv({ CNI_COMMAND: 'VERSION' }), '{"cniVersion":"1.0.0"}');
    expect(r.code).toBe(0);
    expect(r.json).toEqual({ cniVersion: '1.0.0', supportedVersions: ['0.4.0', '1.0.0', '1.1.0'] });
    expect((await runPlugin(plugin, cniEnv({ CNI_COMMAND: 'VERSION' }), '')).json).toMatchObject({
      cniVersion: '1.1.0',
    });
  });

  it('lets DEL through for a missing netns and says nothing on stdout', async () => {
    const r = await runPlugin(plugin, cniEnv({ ...add, CNI_COMMAND: 'DEL', CNI_NETNS: missingNs }), conf());
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(seen.map((l) => JSON.parse(l) as object)).toEqual([
      { v: 1, op: 'del', network: 'vpc-net', containerId: 'c0ffee01', ifName: 'eth0', netns: { path: missingNs } },
    ]);
    seen.length = 0;
  });

  it('answers ADD with 11 when ipamd is unreachable, and logs only to stderr', async () => {
    const r = await runPlugin(
      plugin,
      cniEnv(add),
      conf({ ipamdSocket: path.join(tmp, 'nobody', 'ipamd.sock'), logLevel: 'debug' }),
    );
    expect(r.json).toMatchObject({ code: 11 });
    expect(r.stderr).toContain('"level":"debug"');
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('writes logs to logFile when configured', async () => {
    const logFile = path.join(tmp, 'logs', 'cni.log');
    fs.mkdirSync(path.dirname(logFile));
    const r = await runPlugin(plugin, cniEnv({ ...add, CNI_CONTAINERID: '..' }), conf({ logFile }));
    expect(r.json).toMatchObject({ code: 4 });
    // The configuration parsed after the env check failed, so this went to stderr; a later valid call logs to the file.
    await runPlugin(plugin, cniEnv({ ...add, CNI_COMMAND: 'DEL' }), conf({ logFile }));
    expect(fs.readFileSync(logFile, 'utf8')).toContain('"cmd":"DEL"');
    seen.length = 0;
    fs.rmSync(path.dirname(logFile), { recursive: true });
  });
});
