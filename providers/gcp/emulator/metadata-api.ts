/**
 * @module gce metadata api
 * The GCE metadata server of one node (cloud-apis.md §5.6), built from the
 * cloud on every request so alias-range changes show at once:
 * `/computeMetadata/v1/instance/{id,name,hostname,zone,machine-type}`,
 * `instance/network-interfaces/0/{ip,mac,network,subnetmask,gateway,mtu,
 * ip-aliases/N,…}`, `instance/service-accounts/default/{email,scopes,token}`
 * and `project/{project-id,numeric-project-id}`.
 *
 * Rules: requests need `Metadata-Flavor: Google` and must not carry
 * `X-Forwarded-For` (else 403, see {@link metadataRefusal}); every answer
 * carries `Metadata-Flavor: Google`, which clients check; a directory lists
 * its entries one per line (sub-directories end in `/`); `?recursive=true`
 * returns a directory as JSON with camelCase keys; a trailing `/` on a leaf
 * or an unknown key is 404. `wait_for_change` is refused with 400 rather
 * than answered without waiting.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { gatewayOf, netmaskOf, numericId, type GceNode, type GceView } from './gce-view.js';
import { parseBlock } from '../../sim/addr.js';

type Tree = string | number | Tree[] | { [k: string]: Tree };

/** The metadata server's tree of one node (what `recursive=true` shows of `/computeMetadata/v1/`). */
export type MetadataTree = Tree;

export interface MetadataReply {
  status: number;
  contentType: string;
  body: string;
}

const PREFIX = '/computeMetadata/v1/';

/** The bearer token the metadata server hands out (what ADC uses on GCE). */
export const EMULATOR_ACCESS_TOKEN = 'emulator-metadata-token';

/** The node's metadata as Compute has it now. */
export function metadataTree(view: GceView, n: GceNode): Tree {
  const num = view.p.projectNumber;
  const primaryLen = parseBlock(n.subnet.cidr)!.prefixLength;
  return {
    instance: {
      id: numericId(n.instance.id),
      name: n.name,
      hostname: `${n.name}.${n.zone}.c.${view.p.project}.internal`,
      zone: `projects/${num}/zones/${n.zone}`,
      'machine-type': `projects/${num}/machineTypes/${n.instance.instanceType}`,
      attributes: {},
      'network-interfaces': [
        {
          'access-configs': [],
          'dns-servers': ['169.254.169.254'],
          'forwarded-ips': [],
          gateway: gatewayOf(n.subnet.cidr),
          ip: n.nic.primaryIp,
          'ip-aliases': [...n.nic.prefixes],
          mac: n.nic.mac,
          mtu: 1460,
          network: `projects/${num}/networks/${n.networkName}`,
          subnetmask: netmaskOf(primaryLen),
          'target-instance-ips': [],
        },
      ],
      'service-accounts': {
        default: {
          aliases: ['default'],
          email: `${num}-compute@developer.gserviceaccount.com`,
          scopes: ['https://www.googleapis.com/auth/cloud-platform'],
        },
      },
    },
    project: { attributes: {}, 'numeric-project-id': num, 'project-id': view.p.project },
  };
}

function camel(key: string): string {
  return key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function toJson(t: Tree): unknown {
  if (Array.isArray(t)) return t.map(toJson);
  if (typeof t === 'object') return Object.fromEntries(Object.entries(t).map(([k, v]) => [camel(k), toJson(v)]));
  return t;
}

function listing(t: Tree): string {
  const entries = Array.isArray(t)
    ? t.map((v, i) => [String(i), v] as const)
    : Object.entries(t as Record<string, Tree>);
  return entries.map(([k, v]) => (typeof v === 'object' ? `${k}/` : k)).join('\n') + (entries.length ? '\n' : '');
}

const text = (status: number, body: string): MetadataReply => ({ status, contentType: 'application/text', body });
const html = (status: number, body: string): MetadataReply => ({
  status,
  contentType: 'text/html; charset=UTF-8',
  body,
});
const notFound = (): MetadataReply => html(404, '<!DOCTYPE html>\n<title>Error 404 (Not Found)</title>\n');

export interface MetadataGate {
  /** Refuse requests that carry `X-Forwarded-For` (GCE does; default true). */
  refuseForwardedFor: boolean;
}

/**
 * The refusals made before any lookup, in the order Google's own reference
 * emulator makes them (salrashid123/gce_metadata_server, server.go
 * `checkMetadataHeaders`, "Copyright 2018 Google LLC"), with its bodies:
 *
 * - `X-Forwarded-For` present: 403. "Any request that contains the header
 *   X-Forwarded-For is automatically rejected by the metadata server. This
 *   header generally indicates that the request was proxied and might not be
 *   a request made by an authorized user." (docs.cloud.google.com/compute/
 *   docs/metadata/querying-metadata; the troubleshooting page lists 403 for
 *   a request that "fails security checks"). A client behind an HTTP proxy
 *   that adds the header cannot reach the metadata server.
 * - `Metadata-Flavor` missing or not `Google`: 403 (cloud-apis.md §5.6).
 */
export function metadataRefusal(headers: IncomingHttpHeaders, gate: MetadataGate): MetadataReply | undefined {
  if (gate.refuseForwardedFor && headers['x-forwarded-for'] !== undefined) return html(403, 'Forbidden\n');
  if (headers['metadata-flavor'] !== 'Google') {
    return html(403, 'Missing required header "Metadata-Flavor": "Google"\n');
  }
  return undefined;
}

/**
 * Answers one metadata request for node `n` (already checked for `Metadata-Flavor`), from `known`: what the
 * metadata server knows of it (default: the live tree; the server passes one that lags Compute).
 */
export function metadataReply(
  view: GceView,
  n: GceNode,
  path: string,
  query: URLSearchParams,
  known: Tree = metadataTree(view, n),
): MetadataReply {
  if (!path.startsWith(PREFIX) && path !== PREFIX.slice(0, -1)) return notFound();
  if (query.has('wait_for_change')) return text(400, 'wait_for_change is not supported by the vpc-ipam GCE emulator\n');
  const keys = path.slice(PREFIX.length).split('/');
  const dir = path.endsWith('/') || path === PREFIX.slice(0, -1);
  if (dir && keys[keys.length - 1] === '') keys.pop();
  if (keys.join('/') === 'instance/service-accounts/default/token') {
    const body = JSON.stringify({ access_token: EMULATOR_ACCESS_TOKEN, expires_in: 3599, token_type: 'Bearer' });
    return { status: 200, contentType: 'application/json', body };
  }
  let node: Tree = known;
  for (const k of keys) {
    const next: Tree | undefined = Array.isArray(node)
      ? node[Number(k)]
      : typeof node === 'object'
        ? (node as Record<string, Tree>)[k]
        : undefined;
    if (next === undefined || k === '') return notFound();
    node = next;
  }
  const recursive = query.get('recursive') === 'true';
  const alt = query.get('alt');
  if (typeof node !== 'object') {
    if (dir) return notFound();
    if (alt === 'json') return { status: 200, contentType: 'application/json', body: JSON.stringify(node) };
    return text(200, String(node));
  }
  if (alt === 'text' && recursive) return text(400, 'alt=text is not supported with recursive=true on a directory\n');
  if (recursive || alt === 'json') {
    return { status: 200, contentType: 'application/json', body: JSON.stringify(toJson(node)) };
  }
  return text(200, listing(node));
}

/** Headers every metadata answer carries. */
export function metadataHeaders(body: string): Record<string, string> {
  return {
    'metadata-flavor': 'Google',
    server: 'Metadata Server for VM',
    etag: createHash('sha256').update(body).digest('hex').slice(0, 16),
    'x-xss-protection': '0',
    'x-frame-options': 'SAMEORIGIN',
  };
}
