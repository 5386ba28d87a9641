/**
 * @module emulator http front
 * The listener every cloud emulator sits behind: loopback only (an emulator checks no real credential, so it
 * must not be reachable from elsewhere), the request body buffered up to a limit, and the answer written as
 * the emulator decided it. What the cloud answers (status, error body, headers such as Retry-After and its
 * request id) stays the emulator's: the front adds no header and words no error of its own, except the 500 of
 * an emulator bug, so each cloud's wire format is unchanged by sharing it.
 *
 * A body over the limit is still read to its end (and dropped), so the client gets the cloud's refusal
 * instead of a reset connection; the emulator words that refusal ({@link HttpFrontOptions.tooLarge}).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

/** One request as the emulator sees it, its body already read. */
export interface FrontRequest {
  method: string;
  /** The raw request target (path and query), as sent. */
  url: string;
  headers: http.IncomingHttpHeaders;
  /** The body as UTF-8; throws the emulator's own "too large" error when it was over the limit. */
  body(): string;
}

/** What to send back. */
export interface FrontReply {
  status: number;
  headers: Record<string, string | number>;
  /** Left out of HEAD answers. */
  body?: string;
  /** Close the connection without answering: a response lost on the way (the work was done). */
  drop?: true;
}

export interface HttpFrontOptions {
  /** Loopback only (default 127.0.0.1). */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** Largest body kept, bytes (default: no limit). */
  maxBodyBytes?: number;
  /** The cloud's error for a body over `maxBodyBytes`, thrown by {@link FrontRequest.body}. */
  tooLarge?: () => Error;
  /** Idle keep-alive connections are closed after this long (default: Node's). */
  keepAliveTimeoutMs?: number;
  handle(req: FrontRequest): FrontReply | Promise<FrontReply>;
}

/** The host refused: an emulator listens on loopback only. */
export class NotLoopbackError extends RangeError {
  constructor(readonly host: string) {
    super(`the emulator listens on loopback only, not ${host}`);
    this.name = 'NotLoopbackError';
  }
}

/** What the front answers when the emulator itself failed (a bug, not a cloud error). */
const EMULATOR_FAILURE: FrontReply = {
  status: 500,
  headers: { 'content-type': 'text/plain' },
  body: 'emulator failure',
};

export class HttpFront {
  private constructor(
    private readonly server: http.Server,
    /** The host as bound (an IPv6 address without brackets). */
    readonly boundHost: string,
    readonly port: number,
  ) {}

  /** Binds the port and serves `o.handle`; throws {@link NotLoopbackError} for a host that is not loopback. */
  static async listen(o: HttpFrontOptions): Promise<HttpFront> {
    const host = o.host ?? '127.0.0.1';
    if (!LOOPBACK.test(host)) throw new NotLoopbackError(host);
    const server = http.createServer((req, res) => serve(o, req, res));
    if (o.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = o.keepAliveTimeoutMs;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 0, host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    return new HttpFront(server, address.address, address.port);
  }

  /** `host:port`, an IPv6 host in brackets. */
  get authority(): string {
    return `${this.boundHost.includes(':') ? `[${this.boundHost}]` : this.boundHost}:${this.port}`;
  }

  /** `http://host:port`. */
  get origin(): string {
    return `http://${this.authority}`;
  }

  /** Stops listening and closes every connection, idle or not. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function serve(o: HttpFrontOptions, req: http.IncomingMessage, res: http.ServerResponse): void {
  const limit = o.maxBodyBytes ?? Infinity;
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= limit) chunks.push(c);
  });
  req.on('end', () => {
    const overLimit = size > limit;
    const request: FrontRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      body: () => {
        if (overLimit) throw o.tooLarge?.() ?? new RangeError(`request body over ${limit} bytes`);
        return Buffer.concat(chunks).toString('utf8');
      },
    };
    Promise.resolve()
      .then(() => o.handle(request))
      .then(
        (reply) => send(req, res, reply),
        () => send(req, res, EMULATOR_FAILURE),
      );
  });
}

function send(req: http.IncomingMessage, res: http.ServerResponse, reply: FrontReply): void {
  if (reply.drop) return void req.socket.destroy();
  res.writeHead(reply.status, reply.headers);
  res.end(req.method === 'HEAD' ? undefined : reply.body);
}
