/**
 * INTROSPECTION_BIND_ADDRESS=unix:<path>, as the AWS VPC CNI accepts it (pkg/ipamd/introspect.go, v1.23.1): the
 * daemon's introspection listens on a Unix socket file, mode 0600, replacing a stale one safely; bad paths are
 * refused when the configuration is read, naming the variable; host:port keeps its loopback-only rule.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, statSync, writeFileSync, existsSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../ipamd/config.js';
import { drive, virtualNode, type VirtualNode } from '../helpers/virtual-daemon.js';

function getOverSocket(socketPath: string, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path: p }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

/** A socket file nobody listens on: what a daemon that was killed leaves behind. */
function staleSocket(p: string): void {
  const script = `require('node:net').createServer().listen(${JSON.stringify(p)}, () => process.exit(0))`;
  execFileSync(process.execPath, ['-e', script]);
}

describe('introspection on a Unix socket', () => {
  const nodes: VirtualNode[] = [];
  afterEach(async () => {
    for (const n of nodes.splice(0)) await drive(n.clock, n.daemon.stop());
  });

  async function node(dir: string, sock: string): Promise<VirtualNode> {
    const n = await virtualNode({
      VPC_IPAM_SOCKET: path.join(dir, 'ipamd.sock'),
      INTROSPECTION_BIND_ADDRESS: `unix:${sock}`,
      VPC_IPAM_METRICS_ADDRESS: 'off',
    });
    nodes.push(n);
    return n;
  }

  it('listens mode 0600, answers GET / and the AWS paths, and removes the file when it stops', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'introspect-unix-'));
    const sock = path.join(dir, 'introspection.sock');
    const n = await node(dir, sock);
    const ports = await n.daemon.startServers();
    expect(ports).toMatchObject({ introspectionSocket: sock });
    expect(ports.introspectionPort).toBeUndefined();
    const st = statSync(sock);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.uid).toBe(process.getuid!());
    const root = await getOverSocket(sock, '/');
    expect(root.status).toBe(200);
    expect((JSON.parse(root.body) as { AvailableCommands: string[] }).AvailableCommands).toEqual(
      expect.arrayContaining(['/v1/enis', '/v1/ipamd-env-settings', '/v1/pool']),
    );
    expect((await getOverSocket(sock, '/v1/enis')).status).toBe(200);
    await drive(n.clock, n.daemon.stop());
    nodes.length = 0;
    expect(existsSync(sock)).toBe(false);
  });

  it('replaces a stale socket file, refuses a live one and anything that is not a socket', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'introspect-unix-'));
    const sock = path.join(dir, 'introspection.sock');
    staleSocket(sock);
    expect(statSync(sock).isSocket()).toBe(true);
    const first = await node(path.join(dir, 'a'), sock);
    await first.daemon.startHttp();
    expect((await getOverSocket(sock, '/')).status).toBe(200);

    const second = await node(path.join(dir, 'b'), sock);
    await expect(second.daemon.startHttp()).rejects.toThrow(/INTROSPECTION_BIND_ADDRESS: another ipamd is already/);
    expect((await getOverSocket(sock, '/')).status).toBe(200);

    const file = path.join(dir, 'notes.txt');
    writeFileSync(file, 'keep me');
    const third = await node(path.join(dir, 'c'), file);
    await expect(third.daemon.startHttp()).rejects.toThrow(/notes\.txt exists and is not a socket/);
    expect(statSync(file).isFile()).toBe(true);
  });

  it('refuses a socket whose directory does not exist, naming the variable, and creates nothing', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'introspect-unix-'));
    const missing = path.join(dir, 'no-such-dir');
    const n = await node(dir, path.join(missing, 'introspection.sock'));
    await expect(n.daemon.startHttp()).rejects.toThrow(/INTROSPECTION_BIND_ADDRESS: .*no-such-dir.*ENOENT/);
    expect(existsSync(missing)).toBe(false);
    mkdirSync(path.join(dir, 'f'));
    writeFileSync(path.join(dir, 'f', 'plain'), '');
    const m = await node(dir, path.join(dir, 'f', 'plain', 'x.sock'));
    await expect(m.daemon.startHttp()).rejects.toThrow(/INTROSPECTION_BIND_ADDRESS: .*(ENOTDIR|not a directory)/);
  });
});

describe('INTROSPECTION_BIND_ADDRESS parsing', () => {
  it('accepts unix:<absolute path> as the AWS CNI does, normalising slashes', () => {
    expect(
      parseConfig({ INTROSPECTION_BIND_ADDRESS: 'unix:/var/run/aws-node/introspection.sock' }).introspection,
    ).toEqual({ socketPath: '/var/run/aws-node/introspection.sock' });
    expect(parseConfig({ INTROSPECTION_BIND_ADDRESS: 'unix:///run//x.sock' }).introspection).toEqual({
      socketPath: '/run/x.sock',
    });
  });

  it.each([
    ['unix:', /no socket path \(expected unix:\/absolute\/path.sock\)/],
    ['unix:run/x.sock', /must be absolute/],
    ['unix:/run/../etc/x.sock', /must not contain "\.\."/],
    ['unix:/run/x\0.sock', /NUL byte/],
    ['unix:/run/vpc-ipam/', /names a directory/],
    [`unix:/${'d'.repeat(120)}.sock`, /longer than 107 bytes/],
    // The prefix is case-sensitive there; here such a value is no host:port either.
    ['UNIX:/run/x.sock', /expected host:port/],
    ['0.0.0.0:61679', /must bind to loopback/],
  ])('refuses %j naming the variable', (value, msg) => {
    expect(() => parseConfig({ INTROSPECTION_BIND_ADDRESS: value })).toThrow(/INTROSPECTION_BIND_ADDRESS/);
    expect(() => parseConfig({ INTROSPECTION_BIND_ADDRESS: value })).toThrow(msg);
  });

  it('keeps host:port on loopback and off', () => {
    expect(parseConfig({ INTROSPECTION_BIND_ADDRESS: '127.0.0.1:7000' }).introspection).toEqual({
      host: '127.0.0.1',
      port: 7000,
    });
    expect(parseConfig({ INTROSPECTION_BIND_ADDRESS: 'off' }).introspection).toBeUndefined();
  });
});
