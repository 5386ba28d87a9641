/**
 * @module http endpoints
 * Introspection (JSON, loopback or a root-only Unix socket: it lists Pods and addresses) and
 * Prometheus metrics. Read-only; GET and HEAD only.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { ConfigError } from '../../providers/errors.js';
import { listenOnSocketFile, replaceStaleSocket } from './socket-file.js';

export type Route = () => Promise<{ status?: number; contentType?: string; body: unknown }>;

/** A TCP host and port, or a Unix socket file (introspection's `unix:<path>`). */
export type ListenTarget = { host: string; port: number } | { socketPath: string };

/**
 * Read and write timeouts of the AWS VPC CNI's introspection and metrics servers (5 s each: pkg/ipamd/introspect.go
 * and utils/prometheusmetrics/prometheusmetrics.go, v1.23.1): a client that stalls cannot hold a connection open.
 */
export const HTTP_IO_TIMEOUT_MS = 5_000;

export class HttpEndpoint {
  private server: http.Server | undefined;

  constructor(
    private readonly target: ListenTarget,
    private readonly routes: Record<string, Route>,
    /** The setting that chose the address, named when it cannot be bound. */
    private readonly variable?: string,
  ) {}

  /** Resolves with the TCP port listened on; undefined on a Unix socket. */
  async listen(): Promise<number | undefined> {
    const server = http.createServer((req, res) => void this.serve(req, res));
    // Go's ReadTimeout: the whole request within 5 s. Its WriteTimeout: here, 5 s without progress on the socket
    // (a socket without a 'timeout' listener is destroyed), which also ends idle keep-alive connections.
    server.headersTimeout = HTTP_IO_TIMEOUT_MS;
    server.requestTimeout = HTTP_IO_TIMEOUT_MS;
    server.setTimeout(HTTP_IO_TIMEOUT_MS);
    if ('socketPath' in this.target) {
      await this.listenOnSocket(server, this.target.socketPath);
      this.server = server;
      return undefined;
    }
    const { host, port } = this.target;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    }).catch((err: NodeJS.ErrnoException) => {
      if (!this.variable) throw err;
      const why = err.code === 'EADDRINUSE' ? ' (another process uses it: choose another port, or off)' : '';
      const what = `cannot listen on ${host}:${port}: ${err.code ?? err.message}`;
      throw new ConfigError(this.variable, `${what}${why}`);
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return; // never listened: a socket file there belongs to someone else
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
    if ('socketPath' in this.target) await fs.promises.rm(this.target.socketPath, { force: true });
  }

  /** The directory must exist (never created: a typo must not make directories as root), the file may be stale. */
  private async listenOnSocket(server: http.Server, socketPath: string): Promise<void> {
    const variable = this.variable ?? 'socket path';
    const dir = path.dirname(socketPath);
    const st = await fs.promises.stat(dir).catch((err: NodeJS.ErrnoException) => {
      throw new ConfigError(variable, `cannot listen on ${socketPath}: directory ${dir}: ${err.code ?? err.message}`);
    });
    if (!st.isDirectory()) {
      throw new ConfigError(variable, `cannot listen on ${socketPath}: ${dir} is not a directory`);
    }
    await replaceStaleSocket(socketPath, variable);
    await listenOnSocketFile(server, socketPath, variable);
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
