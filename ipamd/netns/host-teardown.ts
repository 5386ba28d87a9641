/**
 * @module host-side teardown (the daemon's)
 * The teardown is the contract's (cni/contract/host-teardown.ts), so the CNI plugin's offline DEL runs the
 * same code. The daemon's callers (the worker's DEL, pod-wiring.ts's rollback) get its failures as a
 * {@link NetnsError} (NETNS_FAILED), the daemon's error for namespace plumbing, which the contract cannot import.
 */

import {
  HostTeardownError,
  tearDownHostSide as tearDownShared,
  type HostSideTarget,
  type HostTeardownResult,
} from '../../cni/contract/host-teardown.js';
import { NetnsError } from '../../providers/errors.js';
import type { RtSocket } from '../../cni/contract/netlink-ops.js';

export type { HostSideTarget, HostTeardownResult };

/** The contract's `tearDownHostSide`; its refusals and leftovers become a NetnsError with the same message. */
export async function tearDownHostSide(t: HostSideTarget, socket?: RtSocket): Promise<HostTeardownResult> {
  try {
    return await tearDownShared(t, socket);
  } catch (err) {
    if (err instanceof HostTeardownError) throw new NetnsError(err.message);
    throw err;
  }
}
