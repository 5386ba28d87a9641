/**
 * The guard of test/helpers/loopback-only.mjs is on: in this worker and in
 * the Node processes tests start, a connection to anything but loopback
 * (the EC2/Azure instance metadata address, a cloud API host) fails at once,
 * before DNS or a packet.
 */
import { execFileSync } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { LOOPBACK_GUARD } from './daemon-process.js';

async function causeCode(url: string): Promise<string | undefined> {
  const err = await fetch(url, { signal: AbortSignal.timeout(5_000) }).then(
    () => undefined,
    (e: Error & { cause?: { code?: string } }) => e,
  );
  return err?.cause?.code ?? (err ? String(err) : 'connected');
}

describe('tests reach loopback only', () => {
  const outside = [
    'http://169.254.169.254/latest/api/token',
    'https://ec2.us-east-1.amazonaws.com/',
    'http://metadata.google.internal/',
  ];
  it.each(outside)('refuses %s in the test worker', async (url) => {
    expect(await causeCode(url)).toBe('ETESTNOTLOOPBACK');
  });

  it('lets loopback through', async () => {
    const server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    try {
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('ok');
      expect(await (await fetch(`http://localhost:${port}/`)).text()).toBe('ok');
    } finally {
      server.close();
    }
  });

  it('refuses in child Node processes, inherited or given the option', () => {
    const script = "fetch('http://169.254.169.254/').catch((e) => process.stdout.write(String(e.cause?.code)))";
    for (const env of [process.env, { PATH: process.env.PATH, NODE_OPTIONS: LOOPBACK_GUARD }]) {
      const out = execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8', timeout: 10_000 });
      expect(out).toBe('ETESTNOTLOOPBACK');
    }
  });
});
