/**
 * The emulator kit's HTTP front: loopback only, the caller's reply written as given (no header of its own),
 * the caller's error for a body over the limit after the body was read, a lost response, HEAD without a body,
 * and a 500 for an emulator bug. Also the request log it is used with.
 */
import * as http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  HttpFront,
  NotLoopbackError,
  type FrontReply,
  type FrontRequest,
} from '../../../providers/emulator-kit/http-front.js';
import { RequestLog } from '../../../providers/emulator-kit/request-log.js';

class TooLarge extends Error {}

let front: HttpFront | undefined;
afterEach(async () => {
  await front?.close();
  front = undefined;
});

function handle(req: FrontRequest): FrontReply {
  if (req.url === '/bug') throw new Error('a bug');
  if (req.url === '/lost') return { status: 200, headers: {}, body: 'never sent', drop: true };
  let body: string;
  try {
    body = req.body();
  } catch (err) {
    if (!(err instanceof TooLarge)) throw err;
    return { status: 413, headers: { 'content-type': 'text/plain', 'x-cloud': 'yes' }, body: 'too large' };
  }
  return { status: 201, headers: { 'content-type': 'text/plain', 'retry-after': '10' }, body: `${req.method} ${body}` };
}

describe('emulator kit: HTTP front', () => {
  it('listens on loopback only', async () => {
    await expect(HttpFront.listen({ host: '0.0.0.0', handle })).rejects.toBeInstanceOf(NotLoopbackError);
    front = await HttpFront.listen({ handle });
    expect(front.origin).toBe(`http://127.0.0.1:${front.port}`);
  });

  it('writes the reply as the emulator words it; the caller words a body over the limit', async () => {
    front = await HttpFront.listen({ handle, maxBodyBytes: 8, tooLarge: () => new TooLarge() });
    const ok = await fetch(`${front.origin}/x`, { method: 'POST', body: 'small' });
    expect([ok.status, ok.headers.get('retry-after'), await ok.text()]).toEqual([201, '10', 'POST small']);
    const big = await fetch(`${front.origin}/x`, { method: 'POST', body: 'x'.repeat(64 * 1024) });
    expect([big.status, big.headers.get('x-cloud'), await big.text()]).toEqual([413, 'yes', 'too large']);
    const head = await fetch(`${front.origin}/x`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([201, '']);
  });

  it('drops a lost response, and answers 500 for an emulator bug', async () => {
    front = await HttpFront.listen({ handle });
    await expect(fetch(`${front.origin}/lost`)).rejects.toThrow();
    const bug = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
      http
        .get(`${front!.origin}/bug`, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode, body }));
        })
        .on('error', reject);
    });
    expect(bug).toEqual({ status: 500, body: 'emulator failure' });
  });
});

describe('emulator kit: request log', () => {
  it('keeps the newest entries up to its limit and counts every request', () => {
    const log = new RequestLog<{ api: string; status: number }>(2);
    for (const api of ['get', 'get', 'patch']) log.count(api);
    const first = log.push({ api: 'get', status: 0 });
    first.status = 200; // filled in once answered
    log.push({ api: 'get', status: 429 });
    log.push({ api: 'patch', status: 200 });
    expect(log.list()).toEqual([
      { api: 'get', status: 429 },
      { api: 'patch', status: 200 },
    ]);
    expect(log.list((e) => e.api === 'patch')).toHaveLength(1);
    expect(log.countsByKey()).toEqual({ get: 2, patch: 1 });
  });
});
