/**
 * @module sim latency
 * How long each simulated cloud call takes, in milliseconds of the injected
 * clock, and the slower truths of EC2 around the calls: metadata that lags an
 * attach, a detach that is still in progress when it answers, and eventual
 * consistency. `docs/sim-cloud.md` gives the source or the reasoning for each
 * figure (several are estimates: AWS publishes no per-action latencies).
 *
 * Two named profiles: {@link REALISTIC_LATENCY}, the default, matches the
 * strict EC2 emulator's emulate-mode defaults (`EMULATE_REALISM` in
 * `providers/aws/emulator/realism.ts`), and {@link LEGACY_LATENCY} is the
 * kinder table the sim had before, kept so a benchmark can say what the
 * realism costs. Tests usually pass {@link ZERO_LATENCY} or exact overrides
 * and assert virtual time.
 */
import { ConfigError } from '../errors.js';
import type { SimAction } from './actions.js';

export interface LatencyTable {
  /** Time from request to response, per action. */
  actions: Readonly<Record<SimAction, number>>;
  /**
   * Time from a successful attach until the node's metadata service lists the interface (the VPC CNI polls
   * IMDS for it, aws-vpc-cni.md §3.4 step 5): drawn per attach, uniformly from this to
   * {@link metadataPropagationMaxMs} (equal: a fixed delay).
   */
  metadataPropagationMs: number;
  metadataPropagationMaxMs: number;
  /**
   * How long an interface stays `detaching` after DetachNetworkInterface answered: still attached and in
   * use, so a DeleteNetworkInterface meanwhile is refused "is currently in use" and retried (0: detached at
   * once).
   */
  detachSettleMs: number;
  /**
   * Eventual consistency: for this long after a Create, Assign or Attach on an interface, a call naming it by
   * id is answered NotFound with probability {@link notFoundRatio}, before it changes anything (0: off).
   */
  consistencyWindowMs: number;
  notFoundRatio: number;
}

/** Any field of a {@link LatencyTable}; a full table is valid overrides too. */
export interface LatencyOverrides {
  actions?: Partial<Record<SimAction, number>>;
  /** Given alone (no `metadataPropagationMaxMs`), a fixed delay: the caller pinned it. */
  metadataPropagationMs?: number;
  metadataPropagationMaxMs?: number;
  detachSettleMs?: number;
  consistencyWindowMs?: number;
  notFoundRatio?: number;
}

const DESCRIBE_MS = 150;

/** Call latencies: the same in every profile (the EC2 emulator's `latencyScale` reuses them too). */
const ACTIONS: Readonly<Record<SimAction, number>> = Object.freeze({
  DescribeInstances: DESCRIBE_MS,
  DescribeNetworkInterfaces: DESCRIBE_MS,
  DescribeSubnets: DESCRIBE_MS,
  DescribeVpcs: DESCRIBE_MS,
  DescribeInstanceTypes: DESCRIBE_MS,
  CreateNetworkInterface: 400,
  AttachNetworkInterface: 2000,
  ModifyNetworkInterfaceAttribute: 150, // estimate: a small attribute write, like a describe
  DetachNetworkInterface: 1000, // estimate
  DeleteNetworkInterface: 300, // estimate
  AssignPrivateIpAddresses: 300,
  UnassignPrivateIpAddresses: 200,
  CreateTags: DESCRIBE_MS, // estimate
  DeleteTags: DESCRIBE_MS, // estimate
  CreateSubnetCidrReservation: 300, // estimate
  DeleteSubnetCidrReservation: 300, // estimate
});

/**
 * The sim's timings until issue 13: metadata after a fixed second, detach done when its call answers, a
 * consistent cloud. Kinder than EC2; kept for before/after comparisons (`npm run bench:pool`).
 */
export const LEGACY_LATENCY: LatencyTable = Object.freeze({
  actions: ACTIONS,
  metadataPropagationMs: 1000,
  metadataPropagationMaxMs: 1000,
  detachSettleMs: 0,
  consistencyWindowMs: 0,
  notFoundRatio: 0,
});

/**
 * EC2 as the strict emulator plays it by default (`EMULATE_REALISM`, providers/aws/emulator/realism.ts):
 * IMDS lags 1-5 s per change (`imdsLagMs`), a detach stays in progress 3 s (`detachMs`), and a by-id call
 * within 1.5 s of a change is answered NotFound half the time (`consistencyWindowMs`, `notFoundRatio`).
 * The emulator's `attachMs` (2 s attaching) is already the sim's 2 s AttachNetworkInterface latency.
 */
export const REALISTIC_LATENCY: LatencyTable = Object.freeze({
  actions: ACTIONS,
  metadataPropagationMs: 1000,
  metadataPropagationMaxMs: 5000,
  detachSettleMs: 3000,
  consistencyWindowMs: 1500,
  notFoundRatio: 0.5,
});

/** The default profile; see docs/sim-cloud.md §Latency for sources. */
export const DEFAULT_LATENCY: LatencyTable = REALISTIC_LATENCY;

/** Every call instantaneous and the cloud consistent: for tests that only care about outcomes. */
export const ZERO_LATENCY: LatencyTable = Object.freeze({
  actions: Object.freeze(Object.fromEntries(Object.keys(ACTIONS).map((k) => [k, 0])) as Record<SimAction, number>),
  metadataPropagationMs: 0,
  metadataPropagationMaxMs: 0,
  detachSettleMs: 0,
  consistencyWindowMs: 0,
  notFoundRatio: 0,
});

export const LATENCY_PROFILES: Readonly<Record<string, LatencyTable>> = Object.freeze({
  realistic: REALISTIC_LATENCY,
  legacy: LEGACY_LATENCY,
  zero: ZERO_LATENCY,
});

/** A profile by name (`--timings`); throws ConfigError naming `flag` for an unknown one. */
export function latencyProfile(name: string, flag = '--timings'): LatencyTable {
  const p = LATENCY_PROFILES[name];
  const names = Object.keys(LATENCY_PROFILES).join(', ');
  if (!p) throw new ConfigError(flag, `unknown timing profile "${name}"; one of ${names}`);
  return p;
}

/** The defaults (or `base`) with `overrides` applied; rejects negative or non-finite values. */
export function resolveLatency(overrides: LatencyOverrides = {}, base: LatencyTable = DEFAULT_LATENCY): LatencyTable {
  const o = overrides;
  const min = o.metadataPropagationMs ?? base.metadataPropagationMs;
  // A lag pinned alone is fixed: a range from the base around it would not be what the caller asked for.
  const pinned = o.metadataPropagationMs !== undefined;
  const max = o.metadataPropagationMaxMs ?? (pinned ? min : base.metadataPropagationMaxMs);
  const out: LatencyTable = {
    actions: { ...base.actions, ...o.actions },
    metadataPropagationMs: min,
    metadataPropagationMaxMs: max,
    detachSettleMs: o.detachSettleMs ?? base.detachSettleMs,
    consistencyWindowMs: o.consistencyWindowMs ?? base.consistencyWindowMs,
    notFoundRatio: o.notFoundRatio ?? base.notFoundRatio,
  };
  const { actions, ...rest } = out;
  for (const [k, v] of Object.entries({ ...actions, ...rest })) {
    if (!Number.isFinite(v) || v < 0) {
      throw new ConfigError(`latency.${k}`, `must be a non-negative number of ms, got ${v}`);
    }
  }
  if (out.metadataPropagationMaxMs < out.metadataPropagationMs) {
    const range = `${out.metadataPropagationMs}-${out.metadataPropagationMaxMs}`;
    throw new ConfigError('latency.metadataPropagationMaxMs', `must be at least metadataPropagationMs, got ${range}`);
  }
  if (out.notFoundRatio > 1) {
    throw new ConfigError('latency.notFoundRatio', `must be from 0 to 1, got ${out.notFoundRatio}`);
  }
  return out;
}
