/**
 * @module gce compute api
 * The Compute REST routes `@google-cloud/compute`'s REST transport calls
 * (cloud-apis.md §5.2): instances.get/list/aggregatedList,
 * instances.updateNetworkInterface (in update-nic.ts), zoneOperations.get
 * and wait, and subnetworks.get. Routes match on the path only (the SDK
 * ends URLs with a bare `?`). A route may answer later: `wait` blocks until
 * its operation is DONE or its deadline passes.
 */
import type { GceNode } from './gce-view.js';
import { gceError, HttpReply } from './http.js';
import { operationJson } from './operations.js';
import type { ComputeDeps, ComputeRequest } from './compute-deps.js';
import { updateNic } from './update-nic.js';

export type { ComputeDeps, ComputeRequest } from './compute-deps.js';

type Run = (d: ComputeDeps, m: string[], r: ComputeRequest) => unknown;
type Route = { api: string; method: string; re: RegExp; run: Run };

const P = '^/compute/v1/projects/([^/]+)';
const INSTANCE = `${P}/zones/([^/]+)/instances/([^/]+)`;
const OPERATION = `${P}/zones/([^/]+)/operations/([^/]+)`;
const SUBNETWORK = `${P}/regions/([^/]+)/subnetworks/([^/]+)`;
const ROUTES: Route[] = [
  { api: 'instances.get', method: 'GET', re: new RegExp(`${INSTANCE}$`), run: getInstance },
  { api: 'instances.list', method: 'GET', re: new RegExp(`${P}/zones/([^/]+)/instances$`), run: listInstances },
  { api: 'instances.aggregatedList', method: 'GET', re: new RegExp(`${P}/aggregated/instances$`), run: aggregatedList },
  {
    api: 'instances.updateNetworkInterface',
    method: 'PATCH',
    re: new RegExp(`${INSTANCE}/updateNetworkInterface$`),
    run: (d, m, r) => updateNic(d, findNode(d, m), m[0]!, r),
  },
  { api: 'zoneOperations.get', method: 'GET', re: new RegExp(`${OPERATION}$`), run: getOperation },
  { api: 'zoneOperations.wait', method: 'POST', re: new RegExp(`${OPERATION}/wait$`), run: waitOperation },
  { api: 'subnetworks.get', method: 'GET', re: new RegExp(`${SUBNETWORK}$`), run: getSubnetwork },
];

export interface ComputeRoute {
  api: string;
  run: (d: ComputeDeps, r: ComputeRequest) => unknown;
}

/** The API method a request is for (`instances.get`, …), or undefined for an unknown route. */
export function routeOf(method: string, path: string): ComputeRoute | undefined {
  for (const route of ROUTES) {
    const m = route.method === method ? route.re.exec(path) : null;
    if (m) return { api: route.api, run: (d, r) => route.run(d, m.slice(1).map(decodeURIComponent), r) };
  }
  return undefined;
}

const notFound = (what: string) => gceError(404, 'notFound', `The resource '${what}' was not found`);

function checkProject(d: ComputeDeps, project: string | undefined): void {
  if (project !== d.view.p.project) throw notFound(`projects/${project}`);
}

function findNode(d: ComputeDeps, [project, zone, name]: string[]): GceNode {
  checkProject(d, project);
  const n = d.view.node(zone!, name!);
  if (!n) throw notFound(`projects/${project}/zones/${zone}/instances/${name}`);
  return n;
}

function getInstance(d: ComputeDeps, m: string[]): unknown {
  return d.view.instanceJson(findNode(d, m));
}

function listInstances(d: ComputeDeps, [project, zone]: string[]): unknown {
  checkProject(d, project);
  const items = d.view
    .nodes()
    .filter((n) => n.zone === zone)
    .map((n) => d.view.instanceJson(n));
  const id = `projects/${project}/zones/${zone}/instances`;
  return { kind: 'compute#instanceList', id, items, selfLink: `${d.view.zoneUrl(zone!)}/instances` };
}

/** `items` is keyed `zones/<zone>`; pages hold `maxResults` instances (default 500) and chain with `pageToken`. */
function aggregatedList(d: ComputeDeps, [project]: string[], r: ComputeRequest): unknown {
  checkProject(d, project);
  const max = Number(r.query.get('maxResults') ?? 500);
  const from = Number(r.query.get('pageToken') ?? 0);
  if (!Number.isInteger(max) || max < 1 || max > 500) {
    const raw = r.query.get('maxResults');
    throw gceError(400, 'invalid', `Invalid value for field 'maxResults': '${raw}'. Must be between 1 and 500.`);
  }
  if (!Number.isInteger(from) || from < 0) {
    throw gceError(400, 'invalid', `Invalid value for field 'pageToken': '${r.query.get('pageToken')}'.`);
  }
  const all = d.view.nodes().sort((a, b) => (a.zone + a.name < b.zone + b.name ? -1 : 1));
  const page = all.slice(from, from + max);
  const items: Record<string, { instances: unknown[] }> = {};
  for (const n of page) (items[`zones/${n.zone}`] ??= { instances: [] }).instances.push(d.view.instanceJson(n));
  return {
    kind: 'compute#instanceAggregatedList',
    id: `projects/${project}/aggregated/instances`,
    items,
    ...(from + max < all.length ? { nextPageToken: String(from + max) } : {}),
    selfLink: `https://www.googleapis.com/compute/v1/projects/${project}/aggregated/instances`,
  };
}

function getSubnetwork(d: ComputeDeps, [project, region, name]: string[]): unknown {
  checkProject(d, project);
  const s = d.view.subnetwork(region!, name!);
  if (!s) throw notFound(`projects/${project}/regions/${region}/subnetworks/${name}`);
  return d.view.subnetworkJson(region!, s);
}

function findOperation(d: ComputeDeps, [project, zone, name]: string[]) {
  checkProject(d, project);
  const op = d.ops.get(name!);
  if (!op || op.zone !== zone) throw notFound(`projects/${project}/zones/${zone}/operations/${name}`);
  return op;
}

/** `zoneOperations.get`: the operation as it is now, never blocking. */
function getOperation(d: ComputeDeps, m: string[]): unknown {
  return operationJson(findOperation(d, m), d.view.zoneUrl(m[1]!));
}

/** `zoneOperations.wait`: blocks until DONE or the wait deadline (operations.ts). */
async function waitOperation(d: ComputeDeps, m: string[]): Promise<unknown> {
  const op = await d.ops.wait(findOperation(d, m));
  return operationJson(op, d.view.zoneUrl(m[1]!));
}

export { HttpReply };
