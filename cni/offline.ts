/**
 * @module offline teardown loader
 * The one place the plugin reaches for netlink: DEL while ipamd is
 * unreachable. The import is dynamic so the bundle evaluates netlink (and, in
 * the single executable, extracts its native addon) only on that rare path;
 * every other call pays nothing for it.
 */

import type { HostSideTarget } from './contract/host-teardown.js';

export async function offlineTearDown(t: HostSideTarget): Promise<void> {
  const { tearDownHostSide } = await import('./contract/host-teardown.js');
  await tearDownHostSide(t);
}
