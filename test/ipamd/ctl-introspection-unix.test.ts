/**
 * `vpc-ipamctl status` and `subnets` reach an introspection listener on a Unix socket
 * (INTROSPECTION_BIND_ADDRESS=unix:/path, the AWS VPC CNI's form) as they reach host:port.
 */
import * as http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseCtlSettings } from '../../ipamd/config/ctl.js';
import { statusCommand } from '../../ipamd/ctl/commands/status.js';
import { subnetsCommand } from '../../ipamd/ctl/commands/subnets.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ctl-unix-'));
const socket = path.join(dir, 'introspection.sock');
const server = http.createServer((req, res) => {
  const body: Record<string, unknown> =
    req.url === '/v1/pool' ? { statusLine: 'ready | pool 10' } : req.url === '/v1/subnets' ? { subnets: [] } : {};
  res.writeHead(req.url === '/v1/pool' || req.url === '/v1/subnets' ? 200 : 404, {
    'content-type': 'application/json',
  });
  res.end(JSON.stringify(body));
});

beforeAll(() => new Promise<void>((resolve) => server.listen(socket, resolve)));
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

async function capture(run: () => Promise<number>): Promise<{ code: number; out: string }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    return { code: await run(), out };
  } finally {
    spy.mockRestore();
  }
}

describe('vpc-ipamctl over a unix: introspection address', () => {
  it('status reads /v1/pool from INTROSPECTION_BIND_ADDRESS=unix:…', async () => {
    const settings = parseCtlSettings({ INTROSPECTION_BIND_ADDRESS: `unix:${socket}` });
    const r = await capture(() => statusCommand.run([], settings));
    expect(r).toEqual({ code: 0, out: 'ready | pool 10\n' });
  });

  it('status --introspection unix:… and subnets --from unix:… work', async () => {
    const r = await capture(() =>
      statusCommand.run(['--introspection', `unix:${socket}`, '--json'], parseCtlSettings({})),
    );
    expect(JSON.parse(r.out)).toEqual({ statusLine: 'ready | pool 10' });
    const s = await capture(() => subnetsCommand.run(['--from', `unix:${socket}`, '--json'], parseCtlSettings({})));
    expect(s.code).toBe(0);
    expect(JSON.parse(s.out)).toMatchObject({ subnets: [] });
  });

  it('a missing socket is an error naming the address', async () => {
    const missing = `unix:${path.join(dir, 'nope.sock')}`;
    await expect(statusCommand.run(['--introspection', missing], parseCtlSettings({}))).rejects.toThrow(
      new RegExp(`cannot reach ipamd introspection at ${missing}`),
    );
  });
});
