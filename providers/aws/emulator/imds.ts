/**
 * @module imds emulator
 * EC2 instance metadata (IMDSv2, cloud-apis.md §2) for one instance, derived
 * from the same sim cloud the EC2 API changes, so an AssignPrivateIpAddresses
 * shows up in `local-ipv4s` and an attach in `network/interfaces/macs/`.
 *
 * Real IMDS is eventually consistent: it reflects EC2 changes seconds later
 * (amazon-ecs-cni-plugins#66 saw up to 18 s). The emulator keeps a timeline
 * of views (one per cloud revision, emulator-kit/metadata-timeline.ts), each
 * visible after its own lag drawn from [min, max] (seeded), and answers from
 * the newest visible one. An
 * interface still `attaching` is not in any view: the instance does not have
 * it yet. {@link ImdsService.pin} freezes an arbitrary earlier view, to stage
 * the stale-after-reboot case of amazon-vpc-cni-k8s#1967.
 *
 * Looking at the cloud is also when due attaches and detaches complete
 * (`SimCloud.settle`), so the server calls {@link ImdsService.observe}
 * before and after each EC2 request.
 *
 * Token protocol: PUT /latest/api/token with a TTL of 1-21600 s (else 400;
 * with X-Forwarded-For 403); GETs need a live token (else 401) unless IMDSv1
 * is allowed. Unknown paths are 404 with an HTML body, as on EC2.
 */
import { randomBytes } from 'node:crypto';
import { MetadataTimeline } from '../../emulator-kit/metadata-timeline.js';
import type { SimCloud } from '../../sim/cloud.js';
import { EMULATOR_ACCOUNT_ID } from './render.js';

export interface ImdsInterface {
  mac: string;
  deviceNumber: number;
  interfaceId: string;
  subnetId: string;
  subnetCidr: string;
  /** Primary first, then secondaries. */
  localIpv4s: string[];
  prefixes: string[];
  securityGroups: string[];
  vpcId: string;
  vpcCidrs: string[];
  /** `network-card`, listed only on multi-card types (absent: the VPC CNI reads card 0). */
  networkCard?: number;
}

export interface ImdsView {
  instanceId: string;
  instanceType: string;
  zone: string;
  interfaces: ImdsInterface[];
}

export interface ImdsResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface ImdsOptions {
  cloud: SimCloud;
  instanceId: string;
  /** How far IMDS lags EC2, ms (default 0); `lagMs` instead draws each change's lag from a range. */
  delayMs?: number;
  lagMs?: { min: number; max: number };
  /** Seed of the lag draws (default 1). */
  seed?: number;
  /** Accept GETs without a token (IMDSv1). Default false, as on hardened EKS nodes. */
  allowV1?: boolean;
  /** The emulator's clock (default Date.now); attaches and detaches settle on it too. */
  now?: () => number;
}

const TOKEN_HEADER = 'x-aws-ec2-metadata-token';
const TTL_HEADER = 'x-aws-ec2-metadata-token-ttl-seconds';
const MAX_TTL_S = 21600;

const NOT_FOUND_HTML =
  '<?xml version="1.0" encoding="iso-8859-1"?>\n' +
  '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n' +
  '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n' +
  '<html><head><title>404 - Not Found</title></head><body><h1>404 - Not Found</h1></body></html>\n';

function text(status: number, body: string, extra: Record<string, string> = {}): ImdsResponse {
  return { status, headers: { 'content-type': 'text/plain', ...extra }, body };
}

export class ImdsService {
  private readonly cloud: SimCloud;
  readonly instanceId: string;
  private readonly timeline: MetadataTimeline<ImdsView>;
  private readonly allowV1: boolean;
  private readonly now: () => number;
  private readonly tokens = new Map<string, number>();
  private pinned: ImdsView | undefined;
  /** Requests served, for tests and the emulator's counters. */
  requests = 0;

  constructor(o: ImdsOptions) {
    this.cloud = o.cloud;
    this.instanceId = o.instanceId;
    this.allowV1 = o.allowV1 ?? false;
    this.now = o.now ?? Date.now;
    const lag = o.lagMs ?? { min: o.delayMs ?? 0, max: o.delayMs ?? 0 };
    // What the instance saw before the emulator started (the first view) is visible at once.
    this.timeline = new MetadataTimeline(this.now, lag, o.seed ?? 1);
    this.observe();
  }

  /** Changes how far IMDS lags EC2 from now on (a fixed lag). */
  setDelay(ms: number): void {
    this.setLag({ min: ms, max: ms });
  }

  /** Each later change becomes visible after a lag drawn uniformly from [min, max] ms. */
  setLag(lag: { min: number; max: number }): void {
    this.timeline.setLag(lag);
  }

  /** Serves `view` until {@link unpin} (a stale view after a reboot); undefined unpins. */
  pin(view: ImdsView | undefined): void {
    this.pinned = view && structuredClone(view);
  }

  unpin(): void {
    this.pinned = undefined;
  }

  /** The instance as EC2 sees it right now (what IMDS will show once it catches up). */
  liveView(): ImdsView {
    const inst = this.cloud.getInstance(this.instanceId);
    const vpcCidrs = this.cloud.getVpc(inst.vpcId).cidrs;
    const multiCard = (this.cloud.instanceLimits(inst.instanceType)?.networkCards ?? 1) > 1;
    return {
      instanceId: inst.id,
      instanceType: inst.instanceType,
      zone: inst.zone,
      interfaces: inst.interfaces
        .filter((n) => n.attachment?.state !== 'attaching')
        .map((n) => ({
          mac: n.mac,
          deviceNumber: n.attachment!.deviceIndex,
          interfaceId: n.id,
          subnetId: n.subnetId,
          subnetCidr: this.cloud.getSubnet(n.subnetId).cidr,
          localIpv4s: [n.primaryIp, ...n.privateIps],
          prefixes: [...n.prefixes],
          securityGroups: [...n.securityGroups],
          vpcId: n.vpcId,
          vpcCidrs: [...vpcCidrs],
          ...(multiCard ? { networkCard: n.attachment!.networkCardIndex ?? 0 } : {}),
        })),
    };
  }

  /**
   * Completes the attaches and detaches now due, then records the cloud's state if it changed since the
   * last look. A settled transition is stamped with when it was due, not with when it was noticed.
   */
  observe(): void {
    const now = this.now();
    const settledAt = this.cloud.settle(now);
    if (this.timeline.latestRevision === this.cloud.revision) return;
    let view: ImdsView;
    try {
      view = this.liveView();
    } catch {
      return; // instance terminated: IMDS keeps answering with what it last knew
    }
    this.timeline.record(this.cloud.revision, view, settledAt ?? now);
  }

  /** The view IMDS serves at this moment: the newest one whose lag has passed. */
  currentView(): ImdsView {
    this.observe();
    if (this.pinned) return this.pinned;
    return this.timeline.current()!;
  }

  handle(method: string, rawPath: string, headers: Record<string, string | string[] | undefined>): ImdsResponse {
    this.requests++;
    // The JS metadata client sends `//latest/...` when the endpoint has no path (cloud-apis.md §0.5).
    const path = rawPath.split('?')[0]!.replace(/\/{2,}/g, '/');
    if (path === '/latest/api/token')
      return method === 'PUT' ? this.issueToken(headers) : text(405, 'Method Not Allowed');
    if (method !== 'GET' && method !== 'HEAD') return text(405, 'Method Not Allowed');
    if (!this.allowV1 && !this.validToken(headers[TOKEN_HEADER])) return text(401, 'Unauthorized');
    const body = this.lookup(path);
    if (body === undefined) return { status: 404, headers: { 'content-type': 'text/html' }, body: NOT_FOUND_HTML };
    return text(200, body);
  }

  private issueToken(headers: Record<string, string | string[] | undefined>): ImdsResponse {
    if (headers['x-forwarded-for'] !== undefined) return text(403, 'Forbidden');
    const raw = headers[TTL_HEADER];
    const ttl = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!(ttl >= 1 && ttl <= MAX_TTL_S)) return text(400, 'Bad Request');
    const token = randomBytes(24).toString('base64url');
    const now = this.now();
    this.tokens.set(token, now + ttl * 1000);
    for (const [t, exp] of this.tokens) if (exp <= now) this.tokens.delete(t);
    return text(200, token, { [TTL_HEADER]: String(ttl) });
  }

  private validToken(raw: string | string[] | undefined): boolean {
    if (typeof raw !== 'string') return false;
    const exp = this.tokens.get(raw);
    return exp !== undefined && exp > this.now();
  }

  private lookup(path: string): string | undefined {
    const v = this.currentView();
    if (path === '/latest/dynamic/instance-identity/document') {
      const primary = v.interfaces.find((n) => n.deviceNumber === 0);
      return JSON.stringify(
        {
          accountId: EMULATOR_ACCOUNT_ID,
          availabilityZone: v.zone,
          instanceId: v.instanceId,
          instanceType: v.instanceType,
          privateIp: primary?.localIpv4s[0],
          region: v.zone.replace(/[a-z]$/, ''),
          version: '2017-09-30',
        },
        null,
        2,
      );
    }
    const m = /^\/latest\/meta-data(\/.*)?$/.exec(path);
    if (!m) return undefined;
    const rel = (m[1] ?? '/').replace(/^\//, '');
    return this.metaData(v, rel);
  }

  private metaData(v: ImdsView, rel: string): string | undefined {
    const primary = v.interfaces.find((n) => n.deviceNumber === 0);
    const top: Record<string, string | undefined> = {
      'instance-id': v.instanceId,
      'instance-type': v.instanceType,
      'local-ipv4': primary?.localIpv4s[0],
      mac: primary?.mac,
      'placement/availability-zone': v.zone,
      'placement/region': v.zone.replace(/[a-z]$/, ''),
    };
    if (rel === '') return 'instance-id\ninstance-type\nlocal-ipv4\nmac\nnetwork/\nplacement/';
    if (rel === 'placement/' || rel === 'placement') return 'availability-zone\nregion';
    if (Object.hasOwn(top, rel)) return top[rel];
    if (rel === 'network/' || rel === 'network') return 'interfaces/';
    if (rel === 'network/interfaces/' || rel === 'network/interfaces') return 'macs/';
    if (rel === 'network/interfaces/macs/' || rel === 'network/interfaces/macs')
      return v.interfaces.map((n) => `${n.mac}/`).join('\n');
    const mm = /^network\/interfaces\/macs\/([0-9a-f:]+)(?:\/(.*))?$/.exec(rel);
    if (!mm) return undefined;
    const nic = v.interfaces.find((n) => n.mac === mm[1]);
    if (!nic) return undefined;
    const fields: Record<string, string | undefined> = {
      'device-number': String(nic.deviceNumber),
      'interface-id': nic.interfaceId,
      // Left out of the listing when empty, which is how the VPC CNI detects "no prefixes".
      'ipv4-prefix': nic.prefixes.length ? nic.prefixes.join('\n') : undefined,
      'local-hostname': `ip-${nic.localIpv4s[0]!.replace(/\./g, '-')}.ec2.internal`,
      'local-ipv4s': nic.localIpv4s.join('\n'),
      mac: nic.mac,
      'network-card': nic.networkCard === undefined ? undefined : String(nic.networkCard),
      'owner-id': EMULATOR_ACCOUNT_ID,
      'security-group-ids': nic.securityGroups.join('\n'),
      'subnet-id': nic.subnetId,
      'subnet-ipv4-cidr-block': nic.subnetCidr,
      'vpc-id': nic.vpcId,
      'vpc-ipv4-cidr-block': nic.vpcCidrs[0],
      'vpc-ipv4-cidr-blocks': nic.vpcCidrs.join('\n'),
    };
    const field = mm[2] ?? '';
    if (field === '')
      return Object.keys(fields)
        .filter((k) => fields[k] !== undefined)
        .join('\n');
    // A single-card type's `network-card` is 404, which the VPC CNI reads as card 0.
    return Object.hasOwn(fields, field) ? fields[field] : undefined;
  }
}
