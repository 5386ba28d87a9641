/**
 * @module compute deps
 * What every Compute API handler of the emulator is given: the request and the emulator's parts. Its own
 * module so the router (compute-api.ts) and the handlers it routes to (update-nic.ts, …) import it from
 * here rather than from each other.
 */
import type { FaultInjector } from '../../sim/index.js';
import type { GceView } from './gce-view.js';
import type { OperationStore } from './operations.js';

export interface ComputeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: string;
}

export interface AliasLimits {
  /** Alias ranges one NIC may carry (GCE: 150). */
  perNic: number;
  /** `ALIASES_PER_NETWORK_GLOBAL`: alias ranges of all NICs in one network; undefined: not enforced. */
  perNetwork?: number;
}

export interface ComputeDeps {
  view: GceView;
  ops: OperationStore;
  limits: AliasLimits;
  faults?: FaultInjector;
  /** After a change lands in the cloud (persist it there). */
  onMutate?: () => void;
}
