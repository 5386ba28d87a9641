/**
 * @module daemon servers
 * The listeners of one daemon: the loopback HTTP endpoints, opened once by whoever asks first (run.ts before
 * init(), so liveness and metrics answer while it runs), and the plugin socket, opened once init() can answer
 * correctly (the first fill goes on after it). Closing is split the same way: the socket goes first in a stop,
 * the HTTP endpoints last.
 */
import type { DaemonConfig } from '../config.js';
import { openHttpEndpoints, type EndpointHost, type HttpPorts } from './endpoints.js';
import type { HttpEndpoint } from './http.js';
import { SocketServer, type SocketServerOptions } from './socket-server.js';

export class DaemonServers {
  private socket: SocketServer | undefined;
  private readonly http: HttpEndpoint[] = [];
  private httpPorts: Promise<HttpPorts> | undefined;

  constructor(
    private readonly host: EndpointHost,
    private readonly config: DaemonConfig,
  ) {}

  /** Idempotent: a second call gets the first call's ports. */
  openHttp(): Promise<HttpPorts> {
    this.httpPorts ??= openHttpEndpoints(this.host, this.config).then((r) => {
      this.http.push(...r.endpoints);
      return r.ports;
    });
    return this.httpPorts;
  }

  /** Resolves once the socket listens. */
  async openSocket(o: Pick<SocketServerOptions, 'handle' | 'onBadRequest'>): Promise<void> {
    this.socket = new SocketServer({ path: this.config.socketPath, ...o });
    await this.socket.listen();
  }

  async closeSocket(): Promise<void> {
    await this.socket?.close();
  }

  /** Never rejects: a stop goes on past an endpoint that fails to close. */
  async closeHttp(): Promise<void> {
    await Promise.allSettled(this.http.map((h) => h.close()));
  }
}
