import { mkdtempSync, statSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../cni/contract/protocol.js';
import { callIpamd } from '../../cni/contract/socket-client.js';
import { drive, virtualNode, type VirtualNode } from '../helpers/virtual-daemon.js';

function rawCall(socket: string, line: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socket);
    let buf = '';
    s.setEncoding('utf8');
    s.on('connect', () => s.write(line + '\n'));
    s.on('data', (d: string) => (buf += d));
    s.on('end', () => resolve(JSON.parse(buf)));
    s.on('error', reject);
  });
}

describe('local API over the Unix socket', () => {
  let n: VirtualNode;
  let socket: string;
  let ports: { introspectionPort?: number; metricsPort?: number };
  const key = { v: PROTOCOL_VERSION, network: 'vpc-ipam', ifName: 'eth0' };

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sock-'));
    socket = path.join(dir, 'run', 'ipamd.sock');
    n = await virtualNode({
      VPC_IPAM_SOCKET: socket,
      INTROSPECTION_BIND_ADDRESS: '127.0.0.1:0',
      VPC_IPAM_METRICS_ADDRESS: '127.0.0.1:0',
    });
    ports = await n.daemon.startServers();
  });
  afterAll(async () => {
    await drive(n.clock, n.daemon.stop());
  });

  it('creates the socket mode 0600', () => {
    expect(statSync(socket).mode & 0o777).toBe(0o600);
  });

  it('answers hello with the protocol version', async () => {
    expect(await callIpamd(socket, { v: PROTOCOL_VERSION, op: 'hello' })).toEqual({
      ok: true,
      protocol: 1,
      version: 'test',
    });
  });

  it.each([
    ['not JSON', 'hello there', /not valid JSON/],
    ['unknown op', JSON.stringify({ v: 1, op: 'steal' }), /op/],
    ['wrong version', JSON.stringify({ v: 9, op: 'hello' }), /version 9 is not supported/],
    ['container id with a slash', JSON.stringify({ ...key, op: 'add', containerId: '../etc/passwd' }), /containerId/],
    [
      'container id of 257 characters',
      JSON.stringify({ ...key, op: 'add', containerId: 'x'.repeat(257) }),
      /at most 256/,
    ],
    [
      'interface name with a colon',
      JSON.stringify({ ...key, op: 'add', containerId: 'c1', ifName: 'eth0:1' }),
      /ifName.*":"/,
    ],
    [
      'interface name too long',
      JSON.stringify({ ...key, op: 'add', containerId: 'c1', ifName: 'x'.repeat(16) }),
      /ifName/,
    ],
    ['unknown field', JSON.stringify({ ...key, op: 'add', containerId: 'c1', sneaky: true }), /sneaky|Unrecognized/],
    [
      'relative netns path',
      JSON.stringify({ ...key, op: 'add', containerId: 'c1', netns: { path: 'netns/x' } }),
      /netns/,
    ],
  ])('rejects %s with a clear error and changes nothing', async (_name, line, msg) => {
    const before = n.daemon.datastore.list().length;
    const res = await rawCall(socket, line);
    expect(res.ok).toBe(false);
    expect((res.error as { msg: string }).msg).toMatch(msg);
    expect(n.daemon.datastore.list().length).toBe(before);
  });

  it('add is idempotent per key, del twice succeeds, check knows the attachment', async () => {
    const a = await callIpamd(socket, {
      ...key,
      op: 'add',
      containerId: 'c1',
      pod: { namespace: 'ns', name: 'p', uid: 'u1' },
    });
    const b = await callIpamd(socket, { ...key, op: 'add', containerId: 'c1' });
    if (!a.ok || !('allocation' in a) || !b.ok || !('allocation' in b)) throw new Error('add failed');
    expect(b.allocation.ip).toBe(a.allocation.ip);
    expect(b.existing).toBe(true);
    expect(a.allocation).toMatchObject({
      prefixLength: 32,
      gateway: '169.254.1.1',
      routeTable: 0,
      subnetCidr: '10.0.0.0/24',
    });
    expect(await callIpamd(socket, { ...key, op: 'check', containerId: 'c1' })).toMatchObject({ ok: true });
    expect(await callIpamd(socket, { ...key, op: 'del', containerId: 'c1' })).toEqual({ ok: true, released: true });
    expect(await callIpamd(socket, { ...key, op: 'del', containerId: 'c1' })).toEqual({ ok: true, released: false });
    expect(await callIpamd(socket, { ...key, op: 'check', containerId: 'c1' })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
  });

  it('gc releases every attachment of the network not in the valid list', async () => {
    for (const id of ['g1', 'g2', 'g3']) await callIpamd(socket, { ...key, op: 'add', containerId: id });
    const res = await callIpamd(socket, {
      v: PROTOCOL_VERSION,
      op: 'gc',
      network: 'vpc-ipam',
      valid: [{ containerId: 'g2', ifName: 'eth0' }],
    });
    expect(res).toEqual({ ok: true, released: 2 });
    expect(n.daemon.datastore.list().map((a) => a.containerId)).toEqual(['g2']);
  });

  it('status reports readiness and pool numbers', async () => {
    const res = await callIpamd(socket, { v: PROTOCOL_VERSION, op: 'status' });
    expect(res).toMatchObject({ ok: true, status: { ready: true, total: 9 } });
  });

  it('serves introspection on loopback and Prometheus metrics', async () => {
    const pool = (await (await fetch(`http://127.0.0.1:${ports.introspectionPort}/v1/pool`)).json()) as Record<
      string,
      unknown
    >;
    expect(pool).toMatchObject({ total: 9, assigned: 1 });
    expect(typeof pool.why).toBe('string');
    for (const p of ['/healthz', '/v1/nics', '/v1/assignments', '/v1/config']) {
      expect((await fetch(`http://127.0.0.1:${ports.introspectionPort}${p}`)).status).toBe(200);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${ports.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/vpc_ipam_pool_addresses\{state="assigned"\} 1/);
    expect(metrics).toMatch(/vpc_ipam_cloud_calls_total\{operation="assignAddresses",result="ok"\} \d/);
  });

  it('refuses to start a second daemon on a live socket', async () => {
    const m = await virtualNode({
      VPC_IPAM_SOCKET: socket,
      INTROSPECTION_BIND_ADDRESS: 'off',
      VPC_IPAM_METRICS_ADDRESS: 'off',
    });
    await expect(m.daemon.startServers()).rejects.toThrow(/already serving/);
    await drive(m.clock, m.daemon.stop());
    // Stopping the refused daemon must not remove the live daemon's socket.
    expect(statSync(socket).isSocket()).toBe(true);
  });
});
