/**
 * @module socket server
 * The CNI plugin's door into ipamd: a Unix socket, mode 0600 and owned by
 * root, so only root (the container runtime) can ask for addresses. One JSON
 * request line in, one JSON response line out. A malformed request gets an
 * error answer and changes nothing.
 */
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { errorBody } from '../api/handler.js';
import type { Request, Response } from '../api/protocol.js';
import { parseRequest } from '../api/validate.js';

const MAX_REQUEST_BYTES = 4 * 1024 * 1024; // a GC list for a few thousand attachments fits

export interface SocketServerOptions {
  path: string;
  handle: (req: Request) => Promise<Response>;
  onBadRequest?: (msg: string) => void;
}

export class SocketServer {
  private server: net.Server | undefined;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(private readonly o: SocketServerOptions) {}

  async listen(): Promise<void> {
    await fs.mkdir(path.dirname(this.o.path), { recursive: true, mode: 0o755 });
    await this.removeStaleSocket();
    const server = net.createServer((sock) => this.serve(sock));
    // umask closes the window between bind() and chmod() in which the socket would be world-writable.
    const oldMask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.o.path, () => resolve());
      });
    } finally {
      process.umask(oldMask);
    }
    await fs.chmod(this.o.path, 0o600);
    this.server = server;
  }

  /** Stops accepting, waits for requests in flight, removes the socket file. */
  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return; // never listened: the socket file (if any) belongs to someone else
    await new Promise<void>((resolve) => s.close(() => resolve()));
    await Promise.allSettled([...this.inflight]);
    await fs.rm(this.o.path, { force: true });
  }

  private serve(sock: net.Socket): void {
    let buf = '';
    let done = false;
    sock.setEncoding('utf8');
    sock.setTimeout(5 * 60_000, () => sock.destroy());
    sock.on('error', () => {});
    sock.on('data', (chunk: string) => {
      if (done) return;
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0 && buf.length <= MAX_REQUEST_BYTES) return;
      done = true;
      const line = nl < 0 ? buf : buf.slice(0, nl);
      const work = this.answer(line, buf.length > MAX_REQUEST_BYTES && nl < 0).then((res) => {
        if (!sock.destroyed) sock.end(JSON.stringify(res) + '\n');
      });
      this.inflight.add(work);
      void work.finally(() => this.inflight.delete(work));
    });
  }

  private async answer(line: string, tooLarge: boolean): Promise<Response> {
    if (tooLarge) return { ok: false, error: { code: 'BAD_REQUEST', msg: `request larger than ${MAX_REQUEST_BYTES} bytes` } };
    let req: Request;
    try {
      req = parseRequest(line);
    } catch (err) {
      const body = errorBody(err);
      this.o.onBadRequest?.(body.msg);
      return { ok: false, error: body };
    }
    return this.o.handle(req);
  }

  private async removeStaleSocket(): Promise<void> {
    try {
      await fs.lstat(this.o.path);
    } catch {
      return;
    }
    const alive = await new Promise<boolean>((resolve) => {
      const c = net.connect(this.o.path);
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (alive) throw new Error(`another ipamd is already serving ${this.o.path}`);
    await fs.rm(this.o.path, { force: true });
  }
}
