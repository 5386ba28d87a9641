/**
 * @module metadata-service request
 * One small HTTP request over `node:http` (`node:https` for an https URL,
 * loaded only then), for what the adapters ask their instance-metadata
 * services: AWS IMDS (`aws/imds-client.ts`), Azure IMDS's instance document
 * (`azure/imds.ts`) and its managed-identity token (`azure/managed-identity.ts`).
 *
 * Why not `fetch`: Node 20's fetch is its bundled undici, loaded and
 * compiled on the first call. On AWS and Azure nothing else in the daemon
 * uses it (their SDKs send through `node:http`), so a few metadata reads paid
 * for all of it: 25–30 MiB of start-up peak and 3–5 MiB of RSS after the fill
 * (bench:memory; docs/install.md, "Daemon memory").
 *
 * `agent: false`: a connection per request, closed after it. Metadata is
 * asked a few times an hour, and Node's global agent keeps sockets alive.
 */
import * as http from 'node:http';

export interface HttpRequest {
  method?: string;
  headers: Record<string, string>;
  /** Aborts the request; it then rejects with the signal's reason (the caller's timeout), as fetch does. */
  signal: AbortSignal;
}

export interface HttpAnswer {
  status: number;
  text: string;
  headers: { get(name: string): string | undefined };
}

/** Metadata answers are a few KiB; more than this is not a metadata service. */
const MAX_BODY = 1 << 20;

export async function httpRequest(url: string, r: HttpRequest): Promise<HttpAnswer> {
  const { signal } = r;
  const method = r.method ?? 'GET';
  // No body is sent: say so, as fetch does, rather than let Node chunk an empty PUT (AWS IMDS's token PUT).
  const headers = method === 'GET' || method === 'HEAD' ? r.headers : { 'content-length': '0', ...r.headers };
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? await import('node:https') : http;
  return new Promise<HttpAnswer>((resolve, reject) => {
    const fail = (err: Error) => reject(signal.aborted && signal.reason !== undefined ? signal.reason : err);
    const req = lib.request(u, { method, headers, agent: false, signal }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) req.destroy(new Error(`${u.origin}${u.pathname} answered more than ${MAX_BODY} bytes`));
        else chunks.push(c);
      });
      res.on('error', fail);
      res.on('end', () => {
        const h = res.headers;
        resolve({
          status: res.statusCode ?? 0,
          text: Buffer.concat(chunks).toString('utf8'),
          headers: {
            get: (name) => {
              const v = h[name.toLowerCase()];
              return Array.isArray(v) ? v.join(', ') : v;
            },
          },
        });
      });
    });
    req.on('error', fail);
    req.end();
  });
}
