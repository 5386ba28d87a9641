/**
 * @module http endpoints
 * Introspection (JSON, loopback only: it lists Pods and addresses) and
 * Prometheus metrics. Read-only; GET and HEAD only.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../../providers/errors.js';

export type Route = () => Promise<{ status?: number; contentType?: string; body: unknown }>;

export class HttpEndpoint {
  private server: http.Server | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly routes: Record<string, Route>,
    /** The setting that chose host and port, named when they cannot be bound. */
    private readonly variable?: string,
  ) {}

  async listen(): Promise<number> {
    const server = http.createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => resolve());
    }).catch((err: NodeJS.ErrnoException) => {
      if (!this.variable) throw err;
      const why = err.code === 'EADDRINUSE' ? ' (another process uses it: choose another port, or off)' : '';
      const what = `cannot listen on ${this.host}:${this.port}: ${err.code ?? err.message}`;
      throw new ConfigError(this.variable, `${what}${why}`);
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const route = this.routes[url.pathname];
    if (!route) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: `no such path ${url.pathname}`, paths: Object.keys(this.routes) }));
      return;
    }
    try {
      const r = await route();
      const text = typeof r.body === 'string' ? r.body : JSON.stringify(r.body, null, 2) + '\n';
      res
        .writeHead(r.status ?? 200, { 'content-type': r.contentType ?? 'application/json' })
        .end(req.method === 'HEAD' ? undefined : text);
    } catch (err) {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (err as Error).message }));
    }
  }
}
