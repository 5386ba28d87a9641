import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  addReplyBudgetMs,
  callIpamd,
  IpamdUnavailableError,
  SocketIpamdClient,
} from '../../cni/contract/socket-client.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vpc-cni-client-'));
const servers: net.Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function serve(name: string, onLine: (line: string, sock: net.Socket) => void): Promise<string> {
  const p = path.join(tmp, name);
  const srv = net.createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) onLine(buf.slice(0, nl), sock);
    });
  });
  servers.push(srv);
  return new Promise((r) => srv.listen(p, () => r(p)));
}

async function failureKind(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return err instanceof IpamdUnavailableError ? err.kind : `other: ${(err as Error).message}`;
  }
  return undefined;
}

describe('SocketIpamdClient', () => {
  it('sends one versioned line and reads one line back', async () => {
    let got = '';
    const p = await serve('ok.sock', (line, sock) => {
      got = line;
      sock.end('{"ok":true,"status":{"ready":true,"total":1,"assigned":0,"available":1,"cooling":0}}\n');
    });
    const res = await new SocketIpamdClient(p).call({ op: 'status' }, 1000);
    expect(JSON.parse(got)).toEqual({ v: 1, op: 'status' });
    expect(res).toMatchObject({ ok: true, status: { ready: true } });
  });
  it('classifies failures', async () => {
    expect(await failureKind(new SocketIpamdClient(path.join(tmp, 'missing.sock')).call({ op: 'status' }, 500))).toBe(
      'unreachable',
    );
    const silent = await serve('silent.sock', () => undefined);
    expect(await failureKind(new SocketIpamdClient(silent).call({ op: 'status' }, 100))).toBe('timeout');
    const closer = await serve('closer.sock', (_l, sock) => sock.destroy());
    expect(await failureKind(new SocketIpamdClient(closer).call({ op: 'status' }, 1000))).toBe('unreachable');
    const garbage = await serve('garbage.sock', (_l, sock) => sock.end('not json\n'));
    expect(await failureKind(new SocketIpamdClient(garbage).call({ op: 'status' }, 1000))).toBe('protocol');
    const noOk = await serve('nook.sock', (_l, sock) => sock.end('{"status":1}\n'));
    expect(await failureKind(new SocketIpamdClient(noOk).call({ op: 'status' }, 1000))).toBe('protocol');
  });
  it('accepts an error response as a response', async () => {
    const p = await serve('err.sock', (_l, sock) =>
      sock.end('{"ok":false,"error":{"code":"POOL_EXHAUSTED","msg":"x","retryable":true}}\n'),
    );
    expect(await new SocketIpamdClient(p).call({ op: 'status' }, 1000)).toMatchObject({
      ok: false,
      error: { code: 'POOL_EXHAUSTED' },
    });
  });
  it('says what a missing socket means', async () => {
    const missing = path.join(tmp, 'nobody.sock');
    await expect(callIpamd(missing, { op: 'hello' })).rejects.toThrow(
      `no ipamd socket at ${missing} (ENOENT): is ipamd running? is this its VPC_IPAM_SOCKET?`,
    );
  });
  it('lets a caller send its own protocol version', async () => {
    let got = '';
    const p = await serve('v.sock', (line, sock) => {
      got = line;
      sock.end('{"ok":false,"error":{"code":"BAD_VERSION","msg":"x"}}\n');
    });
    await callIpamd(p, { v: 99, op: 'hello' });
    expect(JSON.parse(got)).toEqual({ v: 99, op: 'hello' });
  });
  it("gives an ADD ipamd's pool wait on top of the reply timeout", () => {
    expect(addReplyBudgetMs(30_000, 5_000)).toBe(35_000);
  });
});
