/**
 * @module gce update network interface
 * `instances.updateNetworkInterface` under GCE's PATCH rules (cloud-apis.md
 * §5.4): only `name`, `fingerprint` and `aliasIpRanges` may be sent; the
 * fingerprint is required (400) and must be current (412 conditionNotMet;
 * every completed update issues a new one, fingerprints.ts); a second update
 * while one runs is 400 resourceNotReady; an absent `aliasIpRanges` changes
 * nothing while an explicit `[]` removes every range; a `requestId` seen
 * before returns the earlier operation.
 *
 * Limits, checked as GCE documents them (seed.ts): more alias ranges on one
 * NIC than allowed (150, whatever their sizes) is refused at once with 400;
 * the per-network quota `ALIASES_PER_NETWORK_GLOBAL`, when set, fails the
 * operation with QUOTA_EXCEEDED. Exhaustion and overlaps also surface as
 * operation errors, with nothing changed.
 */
import { IpamError } from '../../errors.js';
import { canonicalCidr } from '../../sim/addr.js';
import type { AliasRangeSpec } from '../../sim/index.js';
import type { AliasLimits, ComputeDeps, ComputeRequest } from './compute-deps.js';
import { numericId, type GceNode } from './gce-view.js';
import { fingerprintMismatch, gceError, OperationFailure } from './http.js';
import { operationJson } from './operations.js';
import { GCE_ALIASES_PER_NETWORK_QUOTA } from './seed.js';

export type { AliasLimits } from './compute-deps.js';

const UPDATABLE = new Set(['name', 'fingerprint', 'aliasIpRanges', 'kind']);
const invalid = (message: string) => gceError(400, 'invalid', message);

/** Parses one `aliasIpRanges[i]`: a CIDR, a bare address, or a bare length such as `/28`. */
function parseAlias(raw: unknown, i: number): AliasRangeSpec {
  const field = `resource.aliasIpRanges[${i}]`;
  if (typeof raw !== 'object' || raw === null) throw invalid(`Invalid value for field '${field}'.`);
  const { ipCidrRange, subnetworkRangeName } = raw as Record<string, unknown>;
  if (subnetworkRangeName !== undefined && typeof subnetworkRangeName !== 'string') {
    throw invalid(`Invalid value for field '${field}.subnetworkRangeName'.`);
  }
  const spec: AliasRangeSpec = subnetworkRangeName ? { rangeName: subnetworkRangeName } : {};
  if (typeof ipCidrRange === 'string' && /^\/\d{1,2}$/.test(ipCidrRange)) {
    return { ...spec, prefixLength: Number(ipCidrRange.slice(1)) };
  }
  const cidr = typeof ipCidrRange === 'string' ? canonicalCidr(ipCidrRange) : undefined;
  if (!cidr) {
    throw invalid(
      `Invalid value for field '${field}.ipCidrRange': '${String(ipCidrRange)}'. ` +
        'Must be an IP address, a netmask such as /24, or a CIDR.',
    );
  }
  return { ...spec, cidr };
}

function parseBody(text: string, nicName: string): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw gceError(400, 'parseError', 'Parse Error');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('Invalid JSON payload: expected an object.');
  }
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (!UPDATABLE.has(k)) {
      throw invalid(`Invalid value for field 'resource.${k}': ''. Updating this field is not supported.`);
    }
  }
  if (b.name !== undefined && b.name !== nicName) {
    throw invalid(`Invalid value for field 'resource.name': '${String(b.name)}'.`);
  }
  return b;
}

/** The desired list, validated against the subnetwork's ranges and the per-NIC limit; undefined: field absent. */
function desiredRanges(n: GceNode, raw: unknown, limits: AliasLimits): AliasRangeSpec[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) throw invalid("Invalid value for field 'resource.aliasIpRanges'.");
  const desired = raw.map(parseAlias);
  const names = new Set(n.ranges.map((x) => x.name));
  desired.forEach((s, i) => {
    if (s.rangeName !== undefined && !names.has(s.rangeName)) {
      throw invalid(
        `Invalid value for field 'resource.aliasIpRanges[${i}].subnetworkRangeName': '${s.rangeName}'. ` +
          `Secondary range not found in subnetwork '${n.subnetName}'.`,
      );
    }
  });
  if (desired.length > limits.perNic) {
    // GCE's shape for a per-instance limit ("Invalid value for field 'resource.networkInterfaces': ''. Too many
    // network interfaces.", GoogleCloudPlatform/pubsec-declarative-toolkit#625); this text is [UNVERIFIED].
    throw invalid(
      `Invalid value for field 'resource.aliasIpRanges': ''. Too many alias IP ranges: ${desired.length} ` +
        `exceeds the maximum of ${limits.perNic} per network interface.`,
    );
  }
  return desired;
}

/** Fails the operation when the network would hold more alias ranges than its quota allows. */
function checkNetworkQuota(d: ComputeDeps, n: GceNode, desired: AliasRangeSpec[]): void {
  const quota = d.limits.perNetwork;
  if (quota === undefined) return;
  const others = d.view
    .nodes()
    .filter((x) => x.networkName === n.networkName && x.nic.id !== n.nic.id)
    .reduce((sum, x) => sum + x.nic.prefixes.length, 0);
  const current = d.view.cloud.getInterface(n.nic.id).prefixes.length;
  // Only growth is refused: a write that keeps or lowers the count never fails on quota.
  if (desired.length <= current || others + desired.length <= quota) return;
  // Wording of Compute quota errors ("Quota 'NETWORKS' exceeded.  Limit: 5.0 globally.", fortinet/fortigate-
  // tutorial-gcp#1, openshift/release#20140); GCE's scope word for a per-network quota is [UNVERIFIED].
  const message = `Quota '${GCE_ALIASES_PER_NETWORK_QUOTA}' exceeded.  Limit: ${quota}.0 globally.`;
  throw new OperationFailure('QUOTA_EXCEEDED', message, 403);
}

export function updateNic(d: ComputeDeps, n: GceNode, project: string, r: ComputeRequest): unknown {
  const nicName = r.query.get('networkInterface');
  if (nicName !== 'nic0') {
    throw invalid(`Invalid value for field 'networkInterface': '${nicName ?? ''}'. The emulator models nic0 only.`);
  }
  const body = parseBody(r.body, nicName);
  const requestId = r.query.get('requestId') ?? undefined;
  const earlier = requestId ? d.ops.byRequest(requestId) : undefined;
  if (earlier) return operationJson(earlier, d.view.zoneUrl(n.zone));
  if (typeof body.fingerprint !== 'string' || body.fingerprint === '') {
    throw gceError(400, 'required', "Required field 'resource.fingerprint' not specified");
  }
  if (body.fingerprint !== d.view.fingerprint(n.nic)) throw fingerprintMismatch();
  if (d.ops.pendingFor(n.instance.id)) {
    const what = `${project}/zones/${n.zone}/instances/${n.name}`;
    throw gceError(400, 'resourceNotReady', `The resource '${what}' is not ready`);
  }
  const desired = desiredRanges(n, body.aliasIpRanges, d.limits);
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
      if (desired !== undefined) {
        checkNetworkQuota(d, n, desired);
        try {
          d.view.cloud.replaceAliasRanges(nicId, desired);
        } catch (err) {
          throw exhausted(err, `projects/${project}/regions/${n.region}/subnetworks/${n.subnetName}`, desired);
        }
        d.onMutate?.();
      }
      // A completed update is a new version of nic0, even one that changed nothing.
      d.view.fingerprints.updated(d.view.cloud.getInterface(nicId));
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
  return new OperationFailure(
    'IP_SPACE_EXHAUSTED',
    `IP space of '${subnetPath}' is exhausted. ${what} does not have enough free IP addresses to allocate ` +
      `${auto.length || 'the requested'}${size} block(s).`,
  );
}
