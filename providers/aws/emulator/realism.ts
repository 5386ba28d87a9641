/**
 * @module ec2 realism
 * The ways the EC2 emulator can be as unkind as EC2, each a knob: the
 * library default ({@link INSTANT}) is an instantly consistent cloud, and the
 * emulate mode (`vpc-ipamctl emulate`, the daemon's embedded emulator) starts
 * from {@link EMULATE_REALISM}. Sources are cited per field and in
 * docs/sim-cloud.md ("EC2 emulator: what it reproduces").
 *
 * One text form for the CLI (`--realism`) and the environment
 * (`VPC_IPAM_AWS_EMULATOR_REALISM`): `off`, `on`, or comma-separated
 * `key=value` over the emulate defaults, e.g. `attach=500,imds=200-800,buckets=off,scale=0.1`.
 */
import { ConfigError } from '../../errors.js';

/**
 * How EC2 words "no room": its specific codes (InsufficientFreeAddressesInSubnet, InsufficientCidrBlocks),
 * the generic `InvalidParameterValue` "There aren't sufficient free Ipv4 addresses or prefixes" it also
 * sends, for /32 requests too (cilium/cilium#31016 quoting AWS support, amazon-vpc-cni-k8s#3105), or
 * either, chosen per failure by the emulator's seeded dice.
 */
export type CapacityWording = 'specific' | 'generic' | 'mixed';
export const CAPACITY_WORDINGS: readonly CapacityWording[] = ['specific', 'generic', 'mixed'];

export interface Ec2Realism {
  /**
   * ms an attachment stays `attaching` (interface `in-use`) before `attached`, and absent from IMDS. EC2's
   * attach is asynchronous: AttachNetworkInterface answers at once and the status moves on later (the API
   * reference's attachment states attaching | attached | detaching | detached).
   */
  attachMs: number;
  /**
   * ms an attachment stays `detaching` (interface `in-use`, Delete refused) before the interface is
   * `available`. "Detach takes more time" than the VPC CNI's 2 s wait (amazon-vpc-cni-k8s#1399; its
   * freeENI sleeps 2 s between detach and delete, pkg/awsutils/awsutils.go).
   */
  detachMs: number;
  /**
   * ms after Create/Assign/Attach on an ENI during which a call naming it by id may answer
   * `InvalidNetworkInterfaceID.NotFound` (AWS "Eventual consistency in the Amazon EC2 API").
   */
  consistencyWindowMs: number;
  /** Chance (0-1) that one such call inside the window is answered NotFound (seeded, so runs replay). */
  notFoundRatio: number;
  /**
   * IMDS lags EC2 by a lag drawn uniformly in [min, max] ms per change: seconds, sometimes many
   * (amazon-ecs-cni-plugins#66: "as long as 18 seconds"; amazon-vpc-cni-k8s#1311: up to 30 s).
   */
  imdsLagMs: { min: number; max: number };
  capacityWording: CapacityWording;
  /**
   * Per-account, per-API token buckets at EC2's documented default sizes and refill rates (throttle.ts; AWS
   * "Request throttling for the Amazon EC2 API"); an empty bucket answers 503 `RequestLimitExceeded`.
   */
  requestBuckets: boolean;
  /**
   * Security groups checked on Create/ModifyNetworkInterface: they exist, share the VPC, at most 5
   * (security-groups.ts).
   */
  validateGroups: boolean;
}

/** The emulate mode's defaults: a few seconds per transition, a short window of eventual consistency. */
export const EMULATE_REALISM: Readonly<Ec2Realism> = {
  attachMs: 2_000,
  detachMs: 3_000,
  consistencyWindowMs: 1_500,
  notFoundRatio: 0.5,
  imdsLagMs: { min: 1_000, max: 5_000 },
  capacityWording: 'mixed',
  requestBuckets: true,
  validateGroups: true,
};

/** An instantly consistent EC2 with its specific codes: the library default, for tests not about timing. */
export const INSTANT: Readonly<Ec2Realism> = {
  ...scaleRealism(EMULATE_REALISM, 0),
  notFoundRatio: 0,
  capacityWording: 'specific',
  requestBuckets: false,
  validateGroups: false,
};

/**
 * Every duration multiplied by `k` (0 turns the timing behaviours off); the wording, the buckets (EC2's sizes
 * and rates are what they are) and the group checks are kept.
 */
export function scaleRealism(r: Ec2Realism, k: number): Ec2Realism {
  const t = (ms: number) => Math.round(ms * k);
  return {
    ...r,
    attachMs: t(r.attachMs),
    detachMs: t(r.detachMs),
    consistencyWindowMs: t(r.consistencyWindowMs),
    imdsLagMs: { min: t(r.imdsLagMs.min), max: t(r.imdsLagMs.max) },
  };
}

/** `N` or `MIN-MAX` milliseconds. */
export function parseLag(raw: string, variable: string): { min: number; max: number } {
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(raw);
  const min = m ? Number(m[1]) : NaN;
  const max = m?.[2] !== undefined ? Number(m[2]) : min;
  if (!(min >= 0 && max >= min && max <= 3_600_000)) {
    throw new ConfigError(variable, `expected milliseconds N or MIN-MAX (at most 3600000), got "${raw}"`);
  }
  return { min, max };
}

function number(raw: string, variable: string, key: string, max: number): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || n > max) {
    throw new ConfigError(variable, `${key} must be a number from 0 to ${max}, got "${raw}"`);
  }
  return n;
}

export function parseCapacityWording(raw: string, variable: string): CapacityWording {
  if (!(CAPACITY_WORDINGS as readonly string[]).includes(raw)) {
    throw new ConfigError(variable, `expected one of ${CAPACITY_WORDINGS.join(', ')}, got "${raw}"`);
  }
  return raw as CapacityWording;
}

function onOff(raw: string, variable: string, key: string): boolean {
  if (raw !== 'on' && raw !== 'off') throw new ConfigError(variable, `${key} must be on or off, got "${raw}"`);
  return raw === 'on';
}

const KEYS = 'attach, detach, consistency, notfound, imds, wording, buckets, groups, scale';

/** Parses the text form (see the module comment); `scale` applies after the other keys. */
export function parseRealism(raw: string | undefined, variable: string, base = EMULATE_REALISM): Ec2Realism {
  const text = raw?.trim() ?? '';
  if (text === '' || text === 'on') return { ...base };
  if (text === 'off') return { ...INSTANT };
  let r: Ec2Realism = { ...base };
  let scale = 1;
  for (const part of text.split(',')) {
    const [key, value, extra] = part.split('=').map((x) => x.trim());
    if (value === undefined || extra !== undefined) {
      throw new ConfigError(variable, `expected key=value, got "${part}"`);
    }
    if (key === 'attach') r.attachMs = number(value, variable, key, 600_000);
    else if (key === 'detach') r.detachMs = number(value, variable, key, 600_000);
    else if (key === 'consistency') r.consistencyWindowMs = number(value, variable, key, 600_000);
    else if (key === 'notfound') r.notFoundRatio = number(value, variable, key, 1);
    else if (key === 'imds') r.imdsLagMs = parseLag(value, variable);
    else if (key === 'wording') r.capacityWording = parseCapacityWording(value, variable);
    else if (key === 'buckets') r.requestBuckets = onOff(value, variable, key);
    else if (key === 'groups') r.validateGroups = onOff(value, variable, key);
    else if (key === 'scale') scale = number(value, variable, key, 100);
    else throw new ConfigError(variable, `unknown key "${key}" (${KEYS})`);
  }
  if (scale !== 1) r = scaleRealism(r, scale);
  return r;
}
