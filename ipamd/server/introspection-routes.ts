/**
 * @module introspection routes
 * What ipamd's loopback HTTP endpoint answers: readiness, liveness, and the
 * read-only views of the pool, interfaces, assignments, configuration and
 * subnets. Built from the daemon's public state only; nothing here changes it.
 */
import type { PoolStatus } from '../../cni/contract/protocol.js';
import type { NodeInventory } from '../../providers/types.js';
import { publicConfig } from '../config.js';
import type { Datastore } from '../datastore/datastore.js';
import type { PoolSnapshot } from '../datastore/types.js';
import type { NodeMonitor } from '../monitor/node-monitor.js';
import type { HostInterfaceSync } from '../netns/interface-sync.js';
import type { NodeNetworkSync } from '../netns/node-network.js';
import type { PoolLimits, PoolPlan } from '../pool/planner.js';
import type { PoolPolicy } from '../pool/policy.js';
import { AWS_CONFIG_PATHS, awsIntrospectionRoutes, type AwsIntrospectionSource } from './aws-introspection-routes.js';
import type { Route } from './http.js';

/**
 * What the routes read from the daemon (all public on IpamDaemon, which has it structurally). Declared here so
 * the server depends on what it shows, not on the daemon that starts it.
 */
export interface IntrospectionSource extends AwsIntrospectionSource {
  readonly ready: boolean;
  readonly serving: boolean;
  /** The start's steps (ipamd/start-timeline.ts), for /v1/startup. */
  readonly timeline: { view(): unknown };
  readonly persistence: { readonly problem: string | undefined };
  liveness(): Promise<string | undefined>;
  snapshot(): PoolSnapshot;
  status(): PoolStatus;
  statusLine(): string;
  readonly expectedDemand: number;
  readonly reconciler: {
    readonly plan: PoolPlan | undefined;
    readonly growthBlocked: { until: number; reason: string } | undefined;
  };
  readonly policy: Pick<PoolPolicy, 'name' | 'explain' | 'targets'>;
  readonly poolLimits: PoolLimits;
  readonly node: NodeInventory;
  readonly datastore: Pick<Datastore, 'interfaceList' | 'list' | 'orphaned' | 'coolingEntries'>;
  readonly hostLinks: Pick<HostInterfaceSync, 'list'>;
  readonly nodeNetwork: Pick<NodeNetworkSync, 'state' | 'problems'> | undefined;
  readonly monitor: Pick<NodeMonitor, 'enabled' | 'settings' | 'reports'>;
}

/** Views that need the node and pool, which exist only after init(): 503 until then, never a 500. */
const DURING_INIT = new Set(['/v1/config', ...AWS_CONFIG_PATHS]);

export function introspectionRoutes(d: IntrospectionSource): Record<string, Route> {
  // Readiness: initialised (node known, checkpoint restored: init()), the plugin socket serving, and able to persist
  // (an ADD is answered only after its write). Not the first fill: it continues in the background and an ADD
  // waits for it (docs/troubleshooting.md, "Start-up"). The endpoints answer from before init().
  const readiness: Route = async () => {
    const why = !d.ready ? 'initialising' : !d.serving ? 'plugin socket not serving' : d.persistence.problem;
    return why ? { status: 503, body: { ok: false, reason: why } } : { body: { ok: true } };
  };
  const views = { ...awsIntrospectionRoutes(d), ...viewRoutes(d) };
  for (const [path, route] of Object.entries(views)) {
    if (DURING_INIT.has(path)) continue;
    views[path] = async () => (d.ready ? route() : { status: 503, body: { ok: false, reason: 'initialising' } });
  }
  const routes: Record<string, Route> = {
    '/healthz': readiness,
    '/readyz': readiness,
    // Liveness: only what a restart fixes (a hung netlink worker). A slow cloud or a read-only disk is not.
    '/livez': async () => {
      const why = await d.liveness();
      return why ? { status: 503, body: { ok: false, reason: why } } : { body: { ok: true } };
    },
    // Answered from the first moment: when each start step happened, and the first cloud answer.
    '/v1/startup': async () => ({ body: d.timeline.view() }),
    ...views,
  };
  // The AWS CNI's `GET /` lists its paths as `{"AvailableCommands": [...]}`; ours too, under the `paths` key the
  // answer to an unknown path has always carried.
  const paths = Object.keys(routes);
  routes['/'] = async () => ({ body: { AvailableCommands: paths, paths } });
  return routes;
}

function viewRoutes(d: IntrospectionSource): Record<string, Route> {
  return {
    '/v1/pool': async () => {
      const s = d.snapshot();
      const plan = d.reconciler.plan;
      return {
        body: {
          total: s.total,
          assigned: s.assigned,
          available: s.available,
          cooling: s.cooling,
          waiting: s.waiting,
          expectedDemand: d.expectedDemand,
          mode: s.mode,
          interfaces: s.interfaces.length,
          targetMode: plan?.targetMode,
          shortAddresses: plan?.shortAddresses ?? 0,
          excessAddresses: plan?.excessAddresses ?? 0,
          why: plan?.reason,
          policy: { name: d.policy.name, explain: d.policy.explain(), targets: d.policy.targets(s) },
          growthBlocked: d.reconciler.growthBlocked ?? null,
          limits: d.poolLimits,
          status: d.status(),
          statusLine: d.statusLine(),
        },
      };
    },
    '/v1/nics': async () => ({
      body: {
        node: { ...d.node, interfaces: undefined },
        interfaces: d.datastore.interfaceList(),
        snapshot: d.snapshot().interfaces,
        hostLinks: d.hostLinks.list(),
      },
    }),
    '/v1/assignments': async () => ({ body: { assignments: d.datastore.list(), orphaned: d.datastore.orphaned() } }),
    '/v1/config': async () => ({ body: publicConfig(d.d.config) }),
    // Node-wide host networking: the last pass's outcome, and a live check (what CHECK also reports).
    '/v1/host-network': async () => ({
      body: d.nodeNetwork
        ? {
            enabled: true,
            settings: d.d.config.hostNetwork,
            ...d.nodeNetwork.state(),
            live: await d.nodeNetwork.problems(),
          }
        : { enabled: false, why: 'no host networking: address-only plumbing, or VPC_IPAM_HOST_INTERFACES=false' },
    }),
    '/v1/subnets': async () => ({
      body: { enabled: d.monitor.enabled, intervalMs: d.monitor.settings.intervalMs, subnets: d.monitor.reports() },
    }),
  };
}
