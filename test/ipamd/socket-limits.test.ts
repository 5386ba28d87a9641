/**
 * A request line is capped at what a request can be (api/protocol.ts): 8 KiB
 * for every op but gc, 320 KiB for a gc listing up to 1024 attachments. An
 * oversize line is answered BAD_REQUEST naming the limit as soon as it is
 * known to be too long, and the connection is closed: ipamd does not read
 * (or keep) the rest.
 */
import { mkdtempSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_GC_ATTACHMENTS,
  MAX_GC_LINE_BYTES,
  MAX_REQUEST_LINE_BYTES,
  PROTOCOL_VERSION,
} from '../../cni/contract/protocol.js';
import { parseRequest } from '../../ipamd/api/validate.js';
import { drive, virtualNode, type VirtualNode } from '../helpers/virtual-daemon.js';

interface Exchange {
  res: { ok: boolean; error?: { code: string; msg: string }; released?: number };
  /** Bytes the client had handed to the socket when the answer came. */
  sentBeforeAnswer: number;
  /** The server closed the connection while the client still had bytes to send. */
  cutShort: boolean;
}

/** Sends `body` (then a newline unless `endless`) in 16 KiB chunks, stopping when ipamd answers or closes. */
function exchange(socket: string, body: string | Buffer, opts: { endless?: boolean } = {}): Promise<Exchange> {
  const data = Buffer.concat([Buffer.from(body), opts.endless ? Buffer.alloc(0) : Buffer.from('\n')]);
  return new Promise((resolve, reject) => {
    const s = net.connect(socket);
    let sent = 0;
    let answeredAt: number | undefined;
    let buf = '';
    let closed = false;
    const pump = () => {
      while (!closed && answeredAt === undefined && sent < data.length) {
        const chunk = data.subarray(sent, sent + 16 * 1024);
        sent += chunk.length;
        if (!s.write(chunk)) return void s.once('drain', pump);
      }
    };
    s.on('connect', pump);
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      answeredAt ??= sent;
      buf += d;
    });
    s.on('error', () => {}); // EPIPE once ipamd has closed: expected for the oversize cases
    s.on('close', () => {
      closed = true;
      try {
        const res = JSON.parse(buf.split('\n')[0]!) as Exchange['res'];
        resolve({ res, sentBeforeAnswer: answeredAt ?? sent, cutShort: sent < data.length });
      } catch {
        reject(new Error(`no answer (sent ${sent} of ${data.length} bytes): ${JSON.stringify(buf.slice(0, 200))}`));
      }
    });
  });
}

const key = { v: PROTOCOL_VERSION, network: 'vpc-ipam', ifName: 'eth0' };
const id = (i: number, len = 64) => `c${String(i).padStart(len - 1, '0')}`;

describe('socket request line limits', () => {
  let n: VirtualNode;
  let socket: string;

  beforeAll(async () => {
    socket = path.join(mkdtempSync(path.join(tmpdir(), 'sock-limits-')), 'ipamd.sock');
    n = await virtualNode({
      VPC_IPAM_SOCKET: socket,
      INTROSPECTION_BIND_ADDRESS: 'off',
      VPC_IPAM_METRICS_ADDRESS: 'off',
    });
    await n.daemon.startServers();
  });
  afterAll(async () => {
    await drive(n.clock, n.daemon.stop());
  });

  it('the largest request the validator accepts fits its limit', () => {
    // 256-character IDs, 15-byte names made of the one character JSON doubles, a 128-character network name.
    const entry = (i: number) => ({ containerId: id(i, 256), ifName: '"'.repeat(15) });
    const valid = Array.from({ length: MAX_GC_ATTACHMENTS }, (_, i) => entry(i));
    const gc = JSON.stringify({ v: PROTOCOL_VERSION, op: 'gc', network: 'n'.repeat(128), valid });
    expect(parseRequest(gc)).toMatchObject({ op: 'gc' });
    expect(Buffer.byteLength(gc)).toBeLessThanOrEqual(MAX_GC_LINE_BYTES);
    const netns = { path: `/${'p'.repeat(4094)}`, mtu: 9001 };
    const pod = { namespace: 'n'.repeat(253), name: 'm'.repeat(253), uid: 'u'.repeat(64) };
    const longest = { network: 'n'.repeat(128), containerId: id(1, 256), pod, netns, waitMs: 300_000 };
    const add = JSON.stringify({ ...key, op: 'add', ...longest });
    expect(parseRequest(add)).toMatchObject({ op: 'add' });
    expect(Buffer.byteLength(add)).toBeLessThanOrEqual(MAX_REQUEST_LINE_BYTES);
  });

  it('refuses an add longer than 8 KiB, naming the limit', async () => {
    const line = JSON.stringify({ ...key, op: 'add', containerId: 'big', pod: { name: 'x'.repeat(9000) } });
    const r = await exchange(socket, line);
    expect(r.res).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(r.res.error!.msg).toMatch(/longer than 8192 bytes.*"add"/);
  });

  it('answers a line that never ends after 8 KiB of it, and closes without reading the rest', async () => {
    const head = JSON.stringify({ ...key, op: 'add', containerId: 'runaway' }).slice(0, -1);
    const r = await exchange(socket, `${head},"pod":{"name":"${'x'.repeat(4 * 1024 * 1024)}`, { endless: true });
    expect(r.res.error).toMatchObject({ code: 'BAD_REQUEST', msg: expect.stringContaining('8192') });
    expect(r.cutShort).toBe(true);
    // The kernel buffers some of what the client writes; ipamd stopped reading at the limit.
    expect(r.sentBeforeAnswer).toBeLessThan(1024 * 1024);
  });

  it('takes a gc of the largest node (1024 attachments)', async () => {
    const valid = Array.from({ length: MAX_GC_ATTACHMENTS }, (_, i) => ({ containerId: id(i), ifName: 'eth0' }));
    const r = await exchange(socket, JSON.stringify({ v: PROTOCOL_VERSION, op: 'gc', network: 'other-net', valid }));
    expect(r.res).toMatchObject({ ok: true, released: 0 });
  });

  it('refuses a gc of more attachments than a node can have', async () => {
    const valid = Array.from({ length: MAX_GC_ATTACHMENTS + 1 }, (_, i) => ({ containerId: id(i), ifName: 'eth0' }));
    const r = await exchange(socket, JSON.stringify({ v: PROTOCOL_VERSION, op: 'gc', network: 'other-net', valid }));
    expect(r.res.error).toMatchObject({ code: 'BAD_REQUEST', msg: expect.stringMatching(/valid.*1024/) });
  });

  it('refuses a gc line past 320 KiB as soon as it passes, and closes', async () => {
    const valid = Array.from({ length: 4000 }, (_, i) => ({ containerId: id(i, 256), ifName: 'eth0' }));
    const line = JSON.stringify({ v: PROTOCOL_VERSION, op: 'gc', network: 'other-net', valid });
    expect(line.length).toBeGreaterThan(3 * MAX_GC_LINE_BYTES);
    const r = await exchange(socket, line);
    const msg = expect.stringContaining(`${MAX_GC_LINE_BYTES} bytes`);
    expect(r.res.error).toMatchObject({ code: 'BAD_REQUEST', msg });
    expect(r.cutShort).toBe(true);
  });

  it('still serves ordinary requests', async () => {
    const r = await exchange(socket, JSON.stringify({ ...key, op: 'add', containerId: 'ordinary' }));
    expect(r.res).toMatchObject({ ok: true });
  });
});
