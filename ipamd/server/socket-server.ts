/**
 * @module socket server
 * The CNI plugin's door into ipamd: a Unix socket, mode 0600 and owned by
 * root, so only root (the container runtime) can ask for addresses. One JSON
 * request line in, one JSON response line out. A malformed request gets an
 * error answer and changes nothing. A line longer than any valid request can
 * be (api/protocol.ts) is refused as soon as it is known to be too long, and
 * the connection is closed after the answer, so a runaway client cannot make
 * ipamd buffer more than one request's worth.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { errorBody } from '../api/handler.js';
import {
  MAX_EXEC_LINE_BYTES,
  MAX_GC_LINE_BYTES,
  MAX_REQUEST_LINE_BYTES,
  type Request,
  type Response,
} from '../../cni/contract/protocol.js';
import { parseRequest } from '../api/validate.js';
import { runExec } from '../api/plugin-host.js';
import { listenOnSocketFile, prepareSocketPath } from './socket-file.js';

export { prepareSocketPath };

export interface SocketServerOptions {
  path: string;
  handle: (req: Request) => Promise<Response>;
  onBadRequest?: (msg: string) => void;
  /** The setting that chose `path`, named in listen errors (default VPC_IPAM_SOCKET). */
  variable?: string;
}

/** The `op` of a request whose line is still arriving, when its first bytes show it. */
function opOf(head: string): string | undefined {
  return /"op"\s*:\s*"([^"\\]*)"/.exec(head)?.[1];
}

/**
 * The longest line `op` may take. A line whose op is not in its first {@link MAX_REQUEST_LINE_BYTES} bytes gets
 * gc's limit, as before exec existed: only an exec named early (the shim writes `op` second) may reach 1 MiB.
 */
function limitOf(op: string | undefined): number {
  if (op === 'exec') return MAX_EXEC_LINE_BYTES;
  return op === 'gc' || op === undefined ? MAX_GC_LINE_BYTES : MAX_REQUEST_LINE_BYTES;
}

function tooLong(op: string | undefined): string {
  if (op === 'exec') return `request line longer than ${MAX_EXEC_LINE_BYTES} bytes, the most an exec request can take`;
  return op === 'gc' || op === undefined
    ? `request line longer than ${MAX_GC_LINE_BYTES} bytes, the most a gc request can take`
    : `request line longer than ${MAX_REQUEST_LINE_BYTES} bytes, the most a "${op}" request can take ` +
        `(only gc and exec may be longer, up to ${MAX_GC_LINE_BYTES} and ${MAX_EXEC_LINE_BYTES})`;
}

export class SocketServer {
  private server: net.Server | undefined;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(private readonly o: SocketServerOptions) {}

  private get variable(): string {
    return this.o.variable ?? 'VPC_IPAM_SOCKET';
  }

  async listen(): Promise<void> {
    await prepareSocketPath(this.o.path, this.variable);
    const server = net.createServer((sock) => this.serve(sock));
    await listenOnSocketFile(server, this.o.path, this.variable);
    this.server = server;
  }

  /** Stops accepting, waits for requests in flight, removes the socket file. */
  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return; // never listened: the socket file (if any) belongs to someone else
    await new Promise<void>((resolve) => s.close(() => resolve()));
    await Promise.allSettled([...this.inflight]);
    await fs.promises.rm(this.o.path, { force: true });
  }

  private serve(sock: net.Socket): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    let checkedOp = false;
    let limit = MAX_GC_LINE_BYTES;
    sock.setTimeout(5 * 60_000, () => sock.destroy());
    sock.on('error', () => {});
    sock.on('data', (chunk: Buffer) => {
      if (done) return; // one request per connection: what follows the line is not kept
      const nl = chunk.indexOf(0x0a);
      const part = nl < 0 ? chunk : chunk.subarray(0, nl);
      chunks.push(part);
      size += part.length;
      if (size > MAX_REQUEST_LINE_BYTES && !checkedOp) {
        // Only gc (a list) and exec (a configuration) are long: any other op past its limit is refused now.
        checkedOp = true;
        const op = opOf(Buffer.concat(chunks).subarray(0, MAX_REQUEST_LINE_BYTES).toString('utf8'));
        limit = limitOf(op);
        if (size > limit) {
          done = true;
          return this.refuse(sock, tooLong(op));
        }
      }
      if (size > limit) {
        done = true;
        return this.refuse(sock, tooLong(limit === MAX_EXEC_LINE_BYTES ? 'exec' : undefined));
      }
      if (nl >= 0) {
        done = true;
        const line = Buffer.concat(chunks).toString('utf8');
        chunks.length = 0;
        const work = this.answer(line, size).then((res) => {
          if (!sock.destroyed) sock.end(JSON.stringify(res) + '\n');
        });
        this.inflight.add(work);
        void work.finally(() => this.inflight.delete(work));
      }
    });
  }

  /** Answers BAD_REQUEST and closes: nothing more of this connection is read or buffered. */
  private refuse(sock: net.Socket, msg: string): void {
    sock.pause();
    sock.removeAllListeners('data');
    this.o.onBadRequest?.(msg);
    const res: Response = { ok: false, error: { code: 'BAD_REQUEST', msg } };
    sock.end(JSON.stringify(res) + '\n', () => sock.destroy());
  }

  private async answer(line: string, bytes: number): Promise<Response> {
    let req: Request;
    try {
      req = parseRequest(line);
    } catch (err) {
      const body = errorBody(err);
      this.o.onBadRequest?.(body.msg);
      return { ok: false, error: body };
    }
    if (bytes > limitOf(req.op)) {
      const msg = tooLong(req.op);
      this.o.onBadRequest?.(msg);
      return { ok: false, error: { code: 'BAD_REQUEST', msg } };
    }
    // The plugin's verbs, run here for the shim; their requests go to the handler as a socket request would.
    if (req.op === 'exec') return runExec(req, (r) => this.o.handle(r));
    return this.o.handle(req);
  }
}
