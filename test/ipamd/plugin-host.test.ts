/**
 * ipamd's `exec` op (api/plugin-host.ts, for the compiled shim): the envelope is validated with errors that
 * name the field, the line limit is 1 MiB and enforced before parsing, and what it answers is what the Node
 * plugin (cni/main.ts runCli, here with a client scripted with the same ipamd replies) would print and exit with.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_EXEC_LINE_BYTES,
  PROTOCOL_VERSION,
  type ExecRequest,
  type Request,
  type Response,
} from '../../cni/contract/protocol.js';
import { IpamdUnavailableError } from '../../cni/contract/socket-client.js';
import { runCli } from '../../cni/main.js';
import { InProcessClient, runExec } from '../../ipamd/api/plugin-host.js';
import { parseRequest } from '../../ipamd/api/validate.js';
import { SocketServer } from '../../ipamd/server/socket-server.js';
import { FakeIpamd } from '../cni/fakes.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugin-host-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const conf = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'vpc-net',
    type: 'vpc-ipam',
    logFile: path.join(dir, 'cni.log'),
    logLevel: 'debug',
    ...extra,
  });
const exec = (env: ExecRequest['env'], stdin: string): ExecRequest => ({ v: PROTOCOL_VERSION, op: 'exec', env, stdin });
const delEnv = { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c-1', CNI_IFNAME: 'eth0', CNI_NETNS: '/run/netns/gone' };

/** The Node plugin's answer to the same invocation, its client scripted with `reply`. */
async function nodePlugin(req: ExecRequest, reply: Response): Promise<{ exitCode: number; stdout: string }> {
  let stdout = '';
  const client = new FakeIpamd({ add: reply, del: reply, check: reply });
  const exitCode = await runCli({
    env: req.env,
    readStdin: () => Buffer.from(req.stdin),
    writeStdout: (s) => void (stdout += s),
    deps: { client },
  });
  return { exitCode, stdout };
}

describe('exec request validation', () => {
  const line = (o: object) => JSON.stringify({ v: PROTOCOL_VERSION, op: 'exec', env: {}, stdin: '{}', ...o });

  it('accepts the CNI_* variables and a configuration', () => {
    expect(parseRequest(line({ env: delEnv }))).toMatchObject({ op: 'exec', env: delEnv });
  });

  it('names what was wrong', () => {
    expect(() => parseRequest(line({ env: { HOME: '/root' } }))).toThrow(/env: Unrecognized key.*HOME/);
    expect(() => parseRequest(line({ env: { CNI_ARGS: 'a\0b' } }))).toThrow(/env\.CNI_ARGS: contains a NUL/);
    expect(() => parseRequest(line({ env: { CNI_NETNS: 'x'.repeat(8193) } }))).toThrow(/env\.CNI_NETNS/);
    expect(() => parseRequest(line({ stdin: { cniVersion: '1.0.0' } }))).toThrow(/stdin: Expected string/);
    expect(() => parseRequest(line({ extra: 1 }))).toThrow(/Unrecognized key.*extra/);
  });
});

describe('runExec answers what the Node plugin answers', () => {
  const handleWith =
    (reply: Response, seen: Request[] = []) =>
    async (req: Request) => (seen.push(req), reply);

  it('DEL: the request reaches the handler validated, the output is the plugin’s', async () => {
    const seen: Request[] = [];
    const req = exec(delEnv, conf());
    const reply: Response = { ok: true, released: true };
    const got = await runExec(req, handleWith(reply, seen));
    expect(got).toEqual({ ok: true, ...(await nodePlugin(req, reply)) });
    expect(got.exitCode).toBe(0);
    expect(seen).toEqual([
      {
        v: PROTOCOL_VERSION,
        op: 'del',
        network: 'vpc-net',
        containerId: 'c-1',
        ifName: 'eth0',
        netns: { path: '/run/netns/gone' },
      },
    ]);
  });

  it('errors: ipamd’s, the environment’s, the configuration’s, the netns probe’s', async () => {
    const failed: Response = { ok: false, error: { code: 'INTERNAL', msg: 'datastore write failed' } };
    const cases: Array<[string, ExecRequest]> = [
      ['ipamd error', exec(delEnv, conf())],
      ['bad interface name', exec({ ...delEnv, CNI_IFNAME: 'eth/0' }, conf())],
      ['unknown verb', exec({ ...delEnv, CNI_COMMAND: 'NOPE' }, conf())],
      ['stdin not JSON', exec(delEnv, '{"cniVersion":')],
      ['bad mtu', exec(delEnv, conf({ mtu: 'big' }))],
      ['missing netns on ADD', exec({ ...delEnv, CNI_COMMAND: 'ADD' }, conf())],
      // ipamd's own namespace is the host's: refused as the plugin refuses its own.
      ['host netns on ADD', exec({ ...delEnv, CNI_COMMAND: 'ADD', CNI_NETNS: '/proc/self/ns/net' }, conf())],
    ];
    for (const [what, req] of cases) {
      const seen: Request[] = [];
      const got = await runExec(req, handleWith(failed, seen));
      expect(got, what).toEqual({ ok: true, ...(await nodePlugin(req, failed)) });
      expect(got.exitCode, what).not.toBe(0);
      if (what !== 'ipamd error') expect(seen, what).toEqual([]);
    }
  });

  it('writes the plugin’s log lines to its log file and closes it after each run', async () => {
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    await runExec(exec(delEnv, conf()), handleWith({ ok: true, released: false }));
    const before = fds();
    for (let i = 0; i < 20; i++) await runExec(exec(delEnv, conf()), handleWith({ ok: true, released: false }));
    expect(fds()).toBe(before);
    const lines = fs.readFileSync(path.join(dir, 'cni.log'), 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toContain('deleted');
  });
});

describe('InProcessClient', () => {
  it('validates as the socket does and times out as the socket client does', async () => {
    const c = new InProcessClient(async () => ({ ok: true, released: true }));
    const bad = await c.call({ op: 'del', network: 'n', containerId: 'bad id', ifName: 'eth0' }, 1000);
    expect(bad).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', msg: /^containerId: / } });
    const slow = new InProcessClient(() => new Promise(() => {}));
    const err = await slow.call({ op: 'status' }, 20).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IpamdUnavailableError);
    expect((err as IpamdUnavailableError).kind).toBe('timeout');
  });
});

describe('exec on the socket: the 1 MiB line limit', () => {
  const socket = path.join(dir, 'ipamd.sock');
  const server = new SocketServer({ path: socket, handle: async () => ({ ok: true, released: true }) });
  beforeAll(() => server.listen());
  afterAll(() => server.close());

  const send = (line: string) =>
    new Promise<Response>((resolve, reject) => {
      const s = net.connect(socket);
      let buf = '';
      s.on('error', () => {});
      s.setEncoding('utf8').on('data', (d: string) => (buf += d));
      s.on('close', () => (buf ? resolve(JSON.parse(buf.split('\n')[0]!) as Response) : reject(new Error('closed'))));
      s.write(`${line}\n`);
    });
  const execLine = (pad: number) =>
    `{"v":1,"op":"exec","env":${JSON.stringify(delEnv)},"stdin":${JSON.stringify(conf({ pad: 'x'.repeat(pad) }))}}`;

  it('serves an exec line past the 8 KiB of other ops, and refuses one past 1 MiB naming the limit', async () => {
    const ok = await send(execLine(100 * 1024));
    expect(ok).toMatchObject({ ok: true, exitCode: 0, stdout: '' });
    const big = await send(execLine(MAX_EXEC_LINE_BYTES));
    expect(big).toEqual({
      ok: false,
      error: {
        code: 'BAD_REQUEST',
        msg: `request line longer than ${MAX_EXEC_LINE_BYTES} bytes, the most an exec request can take`,
      },
    });
    const del = await send(JSON.stringify({ v: 1, op: 'del', network: 'x'.repeat(9000) }));
    expect(del).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', msg: /longer than 8192 bytes.*"del"/ } });
  });
});
