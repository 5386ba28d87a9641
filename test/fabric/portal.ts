/**
 * @module portals: a TCP listener in a fabric namespace that forwards to a server in this worker
 * How a process inside a node reaches that node's emulator (EC2 API and IMDS) on the node's own loopback,
 * and how Pods reach the metadata address 169.254.169.254 in the router: the listener lives in the fabric
 * namespace (ns-socket.ts), the bytes are piped to the emulator on this worker's loopback. For the metadata
 * address the target is chosen per connection from the client's address, as IMDS answers for the instance
 * the packet came from.
 */
import * as net from 'node:net';
import { listenIn } from './ns-socket.js';

export interface Target {
  host: string;
  port: number;
}

export interface Portal {
  port: number;
  /** Connections refused because no target matched the client, by client address. */
  refused: Map<string, number>;
  close(): Promise<void>;
}

export async function openPortal(
  ns: string,
  host: string,
  port: number,
  target: (clientAddress: string) => Target | undefined,
): Promise<Portal> {
  const refused = new Map<string, number>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const from = client.remoteAddress?.replace(/^::ffff:/, '') ?? '';
    const t = target(from);
    if (!t) {
      refused.set(from, (refused.get(from) ?? 0) + 1);
      client.destroy();
      return;
    }
    const upstream = net.connect(t.port, t.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  const bound = await listenIn(server, ns, host, port);
  return {
    port: bound,
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
