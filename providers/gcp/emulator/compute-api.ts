/**
 * @module gce compute api
 * The Compute REST routes `@google-cloud/compute`'s REST transport calls
 * (cloud-apis.md §5.2): instances.get/list/aggregatedList,
 * instances.updateNetworkInterface, zoneOperations.get/wait and
 * subnetworks.get. Routes match on the path only (the SDK ends URLs with a
 * bare `?`).
 *
 * updateNetworkInterface follows GCE's PATCH rules (§5.4): only `name`,
 * `fingerprint` and `aliasIpRanges` may be sent; a stale fingerprint is
 * 412 conditionNotMet; a second update while one runs is 400
 * resourceNotReady; an absent `aliasIpRanges` changes nothing while an
 * explicit `[]` removes every range; a `requestId` seen before returns the
 * earlier operation. Exhaustion and overlaps surface as operation errors.
 */
import type { FaultInjector } from '../../sim/index.js';
import type { AliasRangeSpec } from '../../sim/index.js';
import { canonicalCidr } from '../../sim/addr.js';
import { GCE_MAX_ALIAS_RANGES_PER_NIC } from './seed.js';
import { nicFingerprint, numericId, type GceNode, type GceView } from './gce-view.js';
import { IpamError } from '../../errors.js';
import { gceError, HttpReply, OperationFailure } from './http.js';
import { operationJson, type OperationStore } from './operations.js';

export interface ComputeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: string;
}

export interface ComputeDeps {
  view: GceView;
  ops: OperationStore;
  faults?: FaultInjector;
  /** After a change lands in the cloud (persist it there). */
  onMutate?: () => void;
}

type Route = { api: string; method: string; re: RegExp; run: (d: ComputeDeps, m: string[], r: ComputeRequest) => unknown };

const P = '^/compute/v1/projects/([^/]+)';
const ROUTES: Route[] = [
  { api: 'instances.get', method: 'GET', re: new RegExp(`${P}/zones/([^/]+)/instances/([^/]+)$`), run: getInstance },
  { api: 'instances.list', method: 'GET', re: new RegExp(`${P}/zones/([^/]+)/instances$`), run: listInstances },
  { api: 'instances.aggregatedList', method: 'GET', re: new RegExp(`${P}/aggregated/instances$`), run: aggregatedList },
  { api: 'instances.updateNetworkInterface', method: 'PATCH', re: new RegExp(`${P}/zones/([^/]+)/instances/([^/]+)/updateNetworkInterface$`), run: updateNic },
  { api: 'zoneOperations.get', method: 'GET', re: new RegExp(`${P}/zones/([^/]+)/operations/([^/]+)$`), run: pollOperation },
  { api: 'zoneOperations.wait', method: 'POST', re: new RegExp(`${P}/zones/([^/]+)/operations/([^/]+)/wait$`), run: pollOperation },
  { api: 'subnetworks.get', method: 'GET', re: new RegExp(`${P}/regions/([^/]+)/subnetworks/([^/]+)$`), run: getSubnetwork },
];

/** The API method a request is for (`instances.get`, …), or undefined for an unknown route. */
export function routeOf(method: string, path: string): { api: string; run: (d: ComputeDeps, r: ComputeRequest) => unknown } | undefined {
  for (const route of ROUTES) {
    const m = route.method === method ? route.re.exec(path) : null;
    if (m) return { api: route.api, run: (d, r) => route.run(d, m.slice(1).map(decodeURIComponent), r) };
  }
  return undefined;
}

function checkProject(d: ComputeDeps, project: string | undefined): void {
  if (project !== d.view.p.project) throw gceError(404, 'notFound', `The resource 'projects/${project}' was not found`);
}

function findNode(d: ComputeDeps, [project, zone, name]: string[]): GceNode {
  checkProject(d, project);
  const n = d.view.node(zone!, name!);
  if (!n) throw gceError(404, 'notFound', `The resource 'projects/${project}/zones/${zone}/instances/${name}' was not found`);
  return n;
}

function getInstance(d: ComputeDeps, m: string[]): unknown {
  return d.view.instanceJson(findNode(d, m));
}

function listInstances(d: ComputeDeps, [project, zone]: string[]): unknown {
  checkProject(d, project);
  const items = d.view.nodes().filter((n) => n.zone === zone).map((n) => d.view.instanceJson(n));
  return { kind: 'compute#instanceList', id: `projects/${project}/zones/${zone}/instances`, items, selfLink: `${d.view.zoneUrl(zone!)}/instances` };
}

/** `items` is keyed `zones/<zone>`; pages hold `maxResults` instances (default 500) and chain with `pageToken`. */
function aggregatedList(d: ComputeDeps, [project]: string[], r: ComputeRequest): unknown {
  checkProject(d, project);
  const max = Number(r.query.get('maxResults') ?? 500);
  const from = Number(r.query.get('pageToken') ?? 0);
  if (!Number.isInteger(max) || max < 1 || max > 500) throw gceError(400, 'invalid', `Invalid value for field 'maxResults': '${r.query.get('maxResults')}'. Must be between 1 and 500.`);
  if (!Number.isInteger(from) || from < 0) throw gceError(400, 'invalid', `Invalid value for field 'pageToken': '${r.query.get('pageToken')}'.`);
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
  if (!s) throw gceError(404, 'notFound', `The resource 'projects/${project}/regions/${region}/subnetworks/${name}' was not found`);
  return d.view.subnetworkJson(region!, s);
}

function pollOperation(d: ComputeDeps, [project, zone, name]: string[]): unknown {
  checkProject(d, project);
  const op = d.ops.get(name!);
  if (!op || op.zone !== zone) throw gceError(404, 'notFound', `The resource 'projects/${project}/zones/${zone}/operations/${name}' was not found`);
  return operationJson(d.ops.poll(op), d.view.zoneUrl(zone!));
}

const UPDATABLE = new Set(['name', 'fingerprint', 'aliasIpRanges', 'kind']);

/** Parses one `aliasIpRanges[i]`: a CIDR, a bare address, or a bare length such as `/28`. */
function parseAlias(raw: unknown, i: number): AliasRangeSpec {
  const field = `resource.aliasIpRanges[${i}]`;
  if (typeof raw !== 'object' || raw === null) throw gceError(400, 'invalid', `Invalid value for field '${field}'.`);
  const { ipCidrRange, subnetworkRangeName } = raw as Record<string, unknown>;
  if (subnetworkRangeName !== undefined && typeof subnetworkRangeName !== 'string') {
    throw gceError(400, 'invalid', `Invalid value for field '${field}.subnetworkRangeName'.`);
  }
  const spec: AliasRangeSpec = subnetworkRangeName ? { rangeName: subnetworkRangeName } : {};
  if (typeof ipCidrRange === 'string' && /^\/\d{1,2}$/.test(ipCidrRange)) return { ...spec, prefixLength: Number(ipCidrRange.slice(1)) };
  const cidr = typeof ipCidrRange === 'string' ? canonicalCidr(ipCidrRange) : undefined;
  if (!cidr) throw gceError(400, 'invalid', `Invalid value for field '${field}.ipCidrRange': '${String(ipCidrRange)}'. Must be an IP address, a netmask such as /24, or a CIDR.`);
  return { ...spec, cidr };
}

function updateNic(d: ComputeDeps, m: string[], r: ComputeRequest): unknown {
  const n = findNode(d, m);
  const nicName = r.query.get('networkInterface');
  if (nicName !== 'nic0') throw gceError(400, 'invalid', `Invalid value for field 'networkInterface': '${nicName ?? ''}'. The emulator models nic0 only.`);
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(r.body) as Record<string, unknown>;
  } catch {
    throw gceError(400, 'parseError', 'Parse Error');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw gceError(400, 'invalid', 'Invalid JSON payload: expected an object.');
  for (const k of Object.keys(body)) {
    if (!UPDATABLE.has(k)) throw gceError(400, 'invalid', `Invalid value for field 'resource.${k}': ''. Updating this field is not supported.`);
  }
  if (body.name !== undefined && body.name !== nicName) throw gceError(400, 'invalid', `Invalid value for field 'resource.name': '${String(body.name)}'.`);
  const requestId = r.query.get('requestId') ?? undefined;
  const earlier = requestId ? d.ops.byRequest(requestId) : undefined;
  if (earlier) return operationJson(earlier, d.view.zoneUrl(n.zone));
  if (typeof body.fingerprint !== 'string' || body.fingerprint === '') {
    throw gceError(400, 'required', "Required field 'resource.fingerprint' not specified");
  }
  if (body.fingerprint !== nicFingerprint(n.nic)) {
    throw gceError(412, 'conditionNotMet', 'Invalid fingerprint.', {}, {});
  }
  if (d.ops.pendingFor(n.instance.id)) throw gceError(400, 'resourceNotReady', `The resource '${m[0]}/zones/${n.zone}/instances/${n.name}' is not ready`);
  let desired: AliasRangeSpec[] | undefined;
  if (body.aliasIpRanges !== undefined) {
    if (!Array.isArray(body.aliasIpRanges)) throw gceError(400, 'invalid', "Invalid value for field 'resource.aliasIpRanges'.");
    desired = body.aliasIpRanges.map(parseAlias);
    const names = new Set(n.ranges.map((x) => x.name));
    desired.forEach((s, i) => {
      if (s.rangeName !== undefined && !names.has(s.rangeName)) {
        throw gceError(400, 'invalid', `Invalid value for field 'resource.aliasIpRanges[${i}].subnetworkRangeName': '${s.rangeName}'. Secondary range not found in subnetwork '${n.subnetName}'.`);
      }
    });
    if (desired.length > GCE_MAX_ALIAS_RANGES_PER_NIC) {
      throw gceError(400, 'invalid', `Invalid value for field 'resource.aliasIpRanges': exceeded the maximum of ${GCE_MAX_ALIAS_RANGES_PER_NIC} alias IP ranges per network interface.`);
    }
  }
  const nicId = n.nic.id;
  const op = d.ops.start({
    zone: n.zone,
    operationType: 'updateNetworkInterface',
    targetLink: d.view.instanceUrl(n),
    targetId: numericId(n.instance.id),
    targetKey: n.instance.id,
    ...(requestId ? { requestId } : {}),
    apply: () => {
      d.faults?.check('operation.updateNetworkInterface');
      if (desired === undefined) return; // PATCH without aliasIpRanges: nothing to change
      try {
        d.view.cloud.replaceAliasRanges(nicId, desired);
      } catch (err) {
        throw exhausted(err, `projects/${m[0]}/regions/${n.region}/subnetworks/${n.subnetName}`, desired);
      }
      d.onMutate?.();
    },
  });
  return operationJson(op, d.view.zoneUrl(n.zone));
}

/** GCE's wording for a full range (azure-gke-cilium.md §B.5); other failures pass through. */
function exhausted(err: unknown, subnetPath: string, desired: AliasRangeSpec[]): unknown {
  const code = IpamError.is(err) ? err.code : '';
  if (code !== 'CLOUD_SUBNET_FULL' && code !== 'CLOUD_NO_PREFIX_BLOCK') return err;
  const auto = desired.filter((s) => s.prefixLength !== undefined);
  const range = auto[0]?.rangeName;
  const what = range ? `The secondary range '${range}'` : 'The primary range';
  const size = auto[0]?.prefixLength !== undefined ? ` /${auto[0].prefixLength}` : '';
  return new OperationFailure('IP_SPACE_EXHAUSTED', `IP space of '${subnetPath}' is exhausted. ${what} does not have enough free IP addresses to allocate ${auto.length || 'the requested'}${size} block(s).`);
}

export { HttpReply };
