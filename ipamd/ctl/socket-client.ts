/**
 * @module socket client
 * One request, one response over ipamd's Unix socket (the protocol of
 * api/protocol.ts). Used by vpc-ipamctl and tests; the CNI plugin has its
 * own minimal client so its bundle stays small.
 */
import * as net from 'node:net';
import type { Request, Response } from '../../cni/contract/protocol.js';

export function callIpamd(socketPath: string, req: Request, timeoutMs = 30_000): Promise<Response> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`ipamd did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (d: string) => (buf += d));
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on('end', () => {
      clearTimeout(timer);
      const line = buf.split('\n')[0] ?? '';
      try {
        resolve(JSON.parse(line) as Response);
      } catch {
        reject(new Error(`ipamd sent an unreadable answer: ${line.slice(0, 200)}`));
      }
    });
  });
}
