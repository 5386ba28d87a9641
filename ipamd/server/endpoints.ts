/**
 * @module http endpoints of a daemon
 * Opens the introspection endpoint (loopback, or a Unix socket) and the metrics endpoint a daemon's config asks
 * for. Kept apart from the plugin socket: these start before init() (liveness and metrics answer while it runs),
 * the socket once init() is done (a first fill that can take minutes under throttling goes on after it).
 */
import type { DaemonConfig } from '../config.js';
import { HttpEndpoint } from './http.js';
import { introspectionRoutes, type IntrospectionSource } from './introspection-routes.js';

/** What the endpoints serve: the introspection views and the daemon's metrics (IpamDaemon has both). */
export interface EndpointHost extends IntrospectionSource {
  readonly metrics: { render(): Promise<{ contentType: string; body: string }> };
}

export interface HttpPorts {
  introspectionPort?: number;
  /** INTROSPECTION_BIND_ADDRESS=unix:<path>: the socket file introspection listens on instead of a port. */
  introspectionSocket?: string;
  metricsPort?: number;
}

/** Listens on what `c` enables; on a failure closes what it opened and rethrows (ConfigError naming the variable). */
export async function openHttpEndpoints(
  d: EndpointHost,
  c: DaemonConfig,
): Promise<{ endpoints: HttpEndpoint[]; ports: HttpPorts }> {
  const endpoints: HttpEndpoint[] = [];
  const ports: HttpPorts = {};
  try {
    if (c.introspection) {
      const ep = new HttpEndpoint(c.introspection, introspectionRoutes(d), 'INTROSPECTION_BIND_ADDRESS');
      const port = await ep.listen();
      endpoints.push(ep);
      if ('socketPath' in c.introspection) ports.introspectionSocket = c.introspection.socketPath;
      else ports.introspectionPort = port;
    }
    if (c.metrics) {
      const render = async () => {
        const m = await d.metrics.render();
        return { contentType: m.contentType, body: m.body };
      };
      const ep = new HttpEndpoint(c.metrics, { '/metrics': render }, 'VPC_IPAM_METRICS_ADDRESS');
      ports.metricsPort = await ep.listen();
      endpoints.push(ep);
    }
  } catch (err) {
    await Promise.allSettled(endpoints.map((e) => e.close()));
    throw err;
  }
  return { endpoints, ports };
}
