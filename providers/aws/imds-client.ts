/**
 * @module imds client
 * A small IMDSv2 client (cloud-apis.md §2.1): PUT a session token, then GET
 * metadata with it. The token is cached until shortly before it expires and
 * renewed once on a 401, as the Go SDK the VPC CNI uses does; the JS
 * `@aws-sdk/ec2-metadata-service` PUTs a new token before every GET, which
 * would double the requests of the attach-wait loop for nothing.
 *
 * Timeouts run on the injected Clock. 404 is "absent" (undefined), the way
 * the VPC CNI reads optional fields such as `ipv4-prefix`; any other failure
 * is a CloudUnavailableError for the caller to retry or give up on.
 */
import type { Clock } from '../clock.js';
import { CloudUnavailableError } from '../errors.js';
import { httpRequest } from '../http-request.js';

export const DEFAULT_IMDS_ENDPOINT = 'http://169.254.169.254';
const TOKEN_TTL_S = 21600;
/** Renew this long before the token expires, so a request never races its expiry. */
const RENEW_MARGIN_MS = 60_000;

export interface ImdsClientOptions {
  /** Default {@link DEFAULT_IMDS_ENDPOINT}; `AWS_EC2_METADATA_SERVICE_ENDPOINT` in the environment. */
  endpoint?: string;
  clock: Clock;
  /** Per request, ms (default 2000). */
  timeoutMs?: number;
}

export class ImdsClient {
  readonly endpoint: string;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private token: { value: string; renewAt: number } | undefined;
  /** HTTP requests made (token PUTs included). */
  requests = 0;

  constructor(o: ImdsClientOptions) {
    this.endpoint = (o.endpoint ?? DEFAULT_IMDS_ENDPOINT).replace(/\/+$/, '');
    this.clock = o.clock;
    this.timeoutMs = o.timeoutMs ?? 2000;
  }

  /** GET `/latest/meta-data/<path>`; undefined when IMDS says 404. */
  async metaData(path: string): Promise<string | undefined> {
    return this.get(`/latest/meta-data/${path.replace(/^\/+/, '')}`);
  }

  /** A listing (`macs/`, `local-ipv4s`, …) as trimmed lines without trailing `/`; [] when absent. */
  async list(path: string): Promise<string[]> {
    const body = await this.metaData(path);
    return (body ?? '')
      .split(/\s+/)
      .map((s) => s.replace(/\/$/, ''))
      .filter((s) => s.length > 0);
  }

  /** GET an absolute IMDS path. */
  async get(path: string): Promise<string | undefined> {
    for (let renewed = false; ; renewed = true) {
      const token = await this.sessionToken(renewed);
      const res = await this.request('GET', path, { 'x-aws-ec2-metadata-token': token });
      if (res.status === 200) return res.body;
      if (res.status === 404) return undefined;
      if (res.status === 401 && !renewed) continue; // token expired or IMDS restarted: renew once
      throw this.failure(path, `HTTP ${res.status}`);
    }
  }

  private async sessionToken(forceNew: boolean): Promise<string> {
    const now = this.clock.now();
    if (!forceNew && this.token && this.token.renewAt > now) return this.token.value;
    const res = await this.request('PUT', '/latest/api/token', {
      'x-aws-ec2-metadata-token-ttl-seconds': String(TOKEN_TTL_S),
    });
    if (res.status !== 200 || res.body.length === 0) throw this.failure('/latest/api/token', `HTTP ${res.status}`);
    this.token = { value: res.body, renewAt: now + TOKEN_TTL_S * 1000 - RENEW_MARGIN_MS };
    return res.body;
  }

  private async request(
    method: string,
    path: string,
    headers: Record<string, string>,
  ): Promise<{ status: number; body: string }> {
    this.requests++;
    const ac = new AbortController();
    const timer = new AbortController();
    void this.clock.sleep(this.timeoutMs, timer.signal).then(
      () => ac.abort(new Error(`timed out after ${this.timeoutMs} ms`)),
      () => {},
    );
    try {
      // Not fetch: it would load undici for these few reads (../http-request.ts).
      const res = await httpRequest(`${this.endpoint}${path}`, { method, headers, signal: ac.signal });
      return { status: res.status, body: res.text };
    } catch (err) {
      throw this.failure(path, (err as Error).message, err);
    } finally {
      timer.abort();
    }
  }

  private failure(path: string, why: string, cause?: unknown): CloudUnavailableError {
    return new CloudUnavailableError({
      provider: 'aws',
      operation: `IMDS ${path}`,
      cloudCode: 'ImdsUnavailable',
      message: `${this.endpoint}${path}: ${why}`,
      cause,
    });
  }
}

/** What the node learns about itself from IMDS at start (discovery only: EC2 stays authoritative). */
export interface InstanceIdentity {
  instanceId: string;
  instanceType: string;
  zone: string;
  region: string;
  primaryMac: string;
  primaryInterfaceId: string;
  subnetId: string;
  subnetCidr: string;
  securityGroups: string[];
  vpcId: string;
  vpcCidrs: string[];
}

/** Reads the instance's identity and primary interface from IMDS. */
export async function discoverInstance(imds: ImdsClient): Promise<InstanceIdentity> {
  const need = async (path: string): Promise<string> => {
    const v = (await imds.metaData(path))?.trim();
    if (!v)
      throw new CloudUnavailableError({
        provider: 'aws',
        operation: `IMDS ${path}`,
        cloudCode: 'ImdsMissing',
        message: `instance metadata has no ${path}`,
      });
    return v;
  };
  const [instanceId, instanceType, zone, mac] = await Promise.all([
    need('instance-id'),
    need('instance-type'),
    need('placement/availability-zone'),
    need('mac'),
  ]);
  const base = `network/interfaces/macs/${mac}/`;
  const [primaryInterfaceId, subnetId, subnetCidr, vpcId] = await Promise.all(
    ['interface-id', 'subnet-id', 'subnet-ipv4-cidr-block', 'vpc-id'].map((f) => need(base + f)),
  );
  const [securityGroups, vpcCidrs] = await Promise.all([
    imds.list(`${base}security-group-ids`),
    imds.list(`${base}vpc-ipv4-cidr-blocks`),
  ]);
  return {
    instanceId,
    instanceType,
    zone,
    region: zone.replace(/[a-z]$/, ''),
    primaryMac: mac,
    primaryInterfaceId: primaryInterfaceId!,
    subnetId: subnetId!,
    subnetCidr: subnetCidr!,
    securityGroups,
    vpcId: vpcId!,
    vpcCidrs,
  };
}
