/**
 * @module sim latency
 * How long each simulated cloud call takes, in milliseconds of the injected
 * clock. The defaults are typical EC2 figures; `docs/sim-cloud.md` gives the
 * source or the reasoning for each (several are estimates: AWS publishes no
 * per-action latencies). Tests usually pass {@link ZERO_LATENCY} or exact
 * overrides and assert virtual time.
 */
import { ConfigError } from '../errors.js';
import type { SimAction } from './actions.js';

export interface LatencyTable {
  /** Time from request to response, per action. */
  actions: Readonly<Record<SimAction, number>>;
  /**
   * Time from a successful attach until the node's metadata service lists
   * the interface (the VPC CNI polls IMDS for it, aws-vpc-cni.md §3.4 step 5).
   */
  metadataPropagationMs: number;
}

export interface LatencyOverrides {
  actions?: Partial<Record<SimAction, number>>;
  metadataPropagationMs?: number;
}

const DESCRIBE_MS = 150;

/** Default latencies; see docs/sim-cloud.md §Latency for sources. */
export const DEFAULT_LATENCY: LatencyTable = Object.freeze({
  actions: Object.freeze({
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
  }),
  metadataPropagationMs: 1000,
});

/** Every call instantaneous: for tests that only care about outcomes. */
export const ZERO_LATENCY: LatencyTable = Object.freeze({
  actions: Object.freeze(Object.fromEntries(Object.keys(DEFAULT_LATENCY.actions).map((k) => [k, 0])) as Record<SimAction, number>),
  metadataPropagationMs: 0,
});

/** The defaults (or `base`) with `overrides` applied; rejects negative or non-finite values. */
export function resolveLatency(overrides: LatencyOverrides = {}, base: LatencyTable = DEFAULT_LATENCY): LatencyTable {
  const actions = { ...base.actions, ...overrides.actions };
  const metadataPropagationMs = overrides.metadataPropagationMs ?? base.metadataPropagationMs;
  for (const [k, v] of Object.entries({ ...actions, metadataPropagationMs })) {
    if (!Number.isFinite(v) || v < 0) throw new ConfigError(`latency.${k}`, `must be a non-negative number of ms, got ${v}`);
  }
  return { actions, metadataPropagationMs };
}
