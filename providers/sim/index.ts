/**
 * @module sim
 * The simulated cloud: an in-memory EC2-like model ({@link SimCloud}), its
 * {@link CloudProvider} for one node ({@link SimProvider}), fault injection
 * and throttling ({@link FaultInjector}), latencies, and persistence.
 * See docs/sim-cloud.md.
 */
export { SIM_ACTIONS, MUTATING_ACTIONS, type SimAction } from './actions.js';
export { Prng } from './prng.js';
export { EC2_RESERVED, type ReservationType } from './address-space.js';
export { SimCloud, type SimCloudOptions } from './cloud.js';
export { FaultInjector, TokenBucket, type ErrorFactory, type FaultInjectorOptions, type RateLimit } from './faults.js';
export type { InterfaceFilter } from './filters.js';
export {
  DEFAULT_PREFIX_LENGTH,
  type CreateInterfaceOptions,
  type IpRequest,
  type PrefixRequest,
} from './interface-ops.js';
export {
  DEFAULT_LATENCY,
  LATENCY_PROFILES,
  LEGACY_LATENCY,
  REALISTIC_LATENCY,
  ZERO_LATENCY,
  latencyProfile,
  resolveLatency,
  type LatencyOverrides,
  type LatencyTable,
} from './latency.js';
export type {
  SimReservedCounts,
  SimSecondaryRange,
  SimAttachment,
  SimCloudState,
  SimInstance,
  SimInstanceView,
  SimInterface,
  SimInterfaceStatus,
  SimReservation,
  SimSubnet,
  SimVpc,
  Tags,
} from './model.js';
export { loadSimCloud, openSimCloud, saveSimCloud } from './persist.js';
export { DEFAULT_VPC_CIDR, DEFAULT_ZONE, POD_SUBNET_TAG, type SeedNodeOptions } from './seed.js';
export { EC2_ERROR_CODES, SimErrorFactory, type SimErrorCodes, type SimErrorKind } from './sim-errors.js';
export { SimProvider, toNetworkInterface, type SimProviderOptions } from './sim-provider.js';
export { SECONDARY_RANGE_PREFIX, type AliasRangeChange, type AliasRangeSpec } from './secondary-ranges.js';
export type { CreateInstanceOptions, ReserveOptions } from './topology-ops.js';
export type { SimClock, TimeSource } from './time.js';
