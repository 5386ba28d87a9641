/**
 * @module Event sink metric
 * `vpc_ipam_k8s_event_errors_total{reason}`: Events and node conditions the
 * Kubernetes sink could not write, by kind of failure (client.ts
 * `classifyK8sError`: invalid, forbidden, server_error, timeout, network…).
 * The sink never throws (the EventSink contract), so without this counter a
 * sink that fails every write (a 422 on a malformed Event, a 403 from RBAC)
 * would be invisible. Read from the sink at scrape time, so failures before
 * the registry existed are counted too. ipamd registers it on its own
 * registry (agent.ts), the cluster monitor on its (monitor-integration.ts).
 */
import * as client from 'prom-client';

export const EVENT_ERRORS_METRIC = 'vpc_ipam_k8s_event_errors_total';

export function registerEventErrorMetric(
  registry: client.Registry,
  sink: { readonly errorsByReason: ReadonlyMap<string, number> },
): void {
  if (registry.getSingleMetric(EVENT_ERRORS_METRIC)) return;
  const counted = new Map<string, number>();
  new client.Counter({
    name: EVENT_ERRORS_METRIC,
    help: 'Kubernetes Events and node conditions that could not be written, by kind of failure (reason).',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      // A counter only goes up: add what the sink counted since the last scrape.
      for (const [reason, n] of sink.errorsByReason) {
        const delta = n - (counted.get(reason) ?? 0);
        if (delta > 0) this.inc({ reason }, delta);
        counted.set(reason, n);
      }
    },
  });
}
