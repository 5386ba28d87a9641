/**
 * @module introspection GET
 * vpc-ipamctl's one client of ipamd's introspection listener, in both forms INTROSPECTION_BIND_ADDRESS takes:
 * `host:port` and `unix:/path.sock` (the AWS VPC CNI's form; Node's fetch cannot reach a Unix socket).
 */
import * as http from 'node:http';

const REQUEST_TIMEOUT_MS = 10_000;
const MAX_BODY = 32 * 1024 * 1024;

export interface Answer {
  status: number;
  body: string;
}

/** GET `path` from `address`: `host:port`, or `unix:/path.sock` (INTROSPECTION_BIND_ADDRESS's forms). */
export function introspectionGet(address: string, urlPath: string): Promise<Answer> {
  const colon = address.lastIndexOf(':');
  const target = address.startsWith('unix:')
    ? { socketPath: address.slice('unix:'.length) }
    : { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port: address.slice(colon + 1) };
  return new Promise((resolve, reject) => {
    const req = http.get({ ...target, path: urlPath, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (d: Buffer) => {
        size += d.length;
        if (size > MAX_BODY) req.destroy(new Error(`answer larger than ${MAX_BODY} bytes`));
        else chunks.push(d);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
  });
}
