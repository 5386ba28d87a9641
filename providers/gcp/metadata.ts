/**
 * @module gce metadata client
 * Reads the node's identity from the GCE metadata server (cloud-apis.md
 * §5.6): `http://<host>/computeMetadata/v1/…` with `Metadata-Flavor:
 * Google`, where host is `GCE_METADATA_HOST` (the variable Google's own
 * libraries honour) or `metadata.google.internal`. An answer without the
 * `Metadata-Flavor: Google` header is rejected, as `gcp-metadata` does: it
 * did not come from a metadata server.
 *
 * Only identity comes from here. The alias ranges the daemon acts on come
 * from `instances.get`, which is authoritative; metadata may lag.
 */
import { CloudNotFoundError, CloudUnavailableError, UnauthorizedError } from '../errors.js';
import { mapGcpError } from './errors.js';
import type { GcpClock } from './types.js';

export interface GceIdentity {
  project: string;
  projectNumber: string;
  zone: string;
  instance: string;
  machineType: string;
  /** nic0 */
  ip: string;
  mac: string;
}

export class GceMetadataClient {
  constructor(
    readonly host: string,
    private readonly clock: GcpClock,
    private readonly timeoutMs = 3_000,
  ) {}

  /** One leaf, as text. Throws a CloudError (not found, unavailable, timeout). */
  async get(path: string): Promise<string> {
    const url = `http://${this.host}/computeMetadata/v1/${path}`;
    const ac = new AbortController();
    const stop = new AbortController();
    // The timeout runs on the injected clock; it is cancelled as soon as the answer is in.
    const timeout = Object.assign(new Error(`metadata ${path}: no answer in ${this.timeoutMs} ms`), {
      name: 'TimeoutError',
    });
    this.clock.sleep(this.timeoutMs, stop.signal).then(
      () => ac.abort(timeout),
      () => {},
    );
    const init = (cloudCode: string, message: string) => ({
      provider: 'gcp',
      operation: 'metadata',
      cloudCode,
      message,
    });
    try {
      const res = await fetch(url, { headers: { 'Metadata-Flavor': 'Google' }, signal: ac.signal, redirect: 'error' });
      const body = await res.text();
      if (res.headers.get('metadata-flavor') !== 'Google') {
        const why = `${url}: answer lacks the Metadata-Flavor: Google header (HTTP ${res.status})`;
        throw new CloudUnavailableError(init('invalidMetadataResponse', why));
      }
      if (res.status === 404) throw new CloudNotFoundError(init('notFound', `${url} does not exist`));
      if (res.status === 403) {
        // A refusal, not an outage: the same request gets the same answer. GCE refuses any request that
        // carries X-Forwarded-For, i.e. that went through a proxy (docs.cloud.google.com/compute/docs/metadata/
        // querying-metadata).
        const why = `${url}: the metadata server refused the request (HTTP 403: ${body.trim().slice(0, 120)})`;
        throw new UnauthorizedError(init('metadataForbidden', `${why}; was it sent through a proxy?`));
      }
      if (!res.ok) {
        throw new CloudUnavailableError(init(String(res.status), `${url}: HTTP ${res.status}: ${body.slice(0, 200)}`));
      }
      return body.trim();
    } catch (err) {
      throw mapGcpError(err, `metadata ${path}`);
    } finally {
      stop.abort();
    }
  }

  /** Project, zone, instance name, machine type and nic0's address and MAC. */
  async identity(): Promise<GceIdentity> {
    const [project, projectNumber, zonePath, instance, machinePath, ip, mac] = await Promise.all([
      this.get('project/project-id'),
      this.get('project/numeric-project-id'),
      this.get('instance/zone'),
      this.get('instance/name'),
      this.get('instance/machine-type'),
      this.get('instance/network-interfaces/0/ip'),
      this.get('instance/network-interfaces/0/mac'),
    ]);
    // `projects/123/zones/us-central1-a` and `projects/123/machineTypes/e2-standard-4`: the last segment is the name.
    const zone = lastSegment(zonePath);
    return { project, projectNumber, zone, instance, machineType: lastSegment(machinePath), ip, mac };
  }
}

/** Last path segment of a resource path or URL (`…/zones/us-central1-a` → `us-central1-a`). */
export function lastSegment(pathOrUrl: string): string {
  return pathOrUrl.slice(pathOrUrl.lastIndexOf('/') + 1);
}
