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
import { findLink, isGone, NetlinkStepError, step, type RtSocket } from '../../cni/contract/netlink-ops.js';
import { HOST_VETH_NAME_RE } from '../../cni/contract/veth-name.js';

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

/**
 * Deletes a veth a DEL kept (`keepLink`) if it still exists: only that very link, found by its name and
 * recognised by its index, so a newer veth given the same name (a new sandbox of the same Pod) is never touched.
 * True when it was deleted here, false when it was gone (its namespace took it, or an ADD replaced it).
 */
export async function deleteKeptLink(link: { index: number; name: string }, s: RtSocket): Promise<boolean> {
  if (!HOST_VETH_NAME_RE.test(link.name)) {
    throw new NetnsError(`refusing to delete link ${JSON.stringify(link.name)}: not a vpc-ipam host veth name`);
  }
  try {
    const now = await step(`look up host veth ${link.name}`, () => findLink(s, link.name));
    if (!now || now.index !== link.index || now.kind !== 'veth') return false;
    await step(`delete host veth ${link.name}`, () => s.delLink({ index: link.index }, {}, { timeout: 2000 }));
    return true;
  } catch (err) {
    const gone = err instanceof NetlinkStepError && (err.errno === 'ENODEV' || err.errno === 'ENOENT');
    if (gone || isGone(err)) return false;
    throw new NetnsError((err as Error).message, { cause: err });
  }
}
