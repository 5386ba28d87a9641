/**
 * The shared CloudProvider contract (test/providers/contract.ts) on the GCP
 * adapter over the GCE emulator, through the real SDK. Declared skips, read
 * from getLimits as the contract does: GCE gives no secondary IPs
 * (supportsIps false: only alias-range prefixes are assigned) and cannot
 * attach interfaces to a running VM (canCreateInterfaces false: the
 * contract only checks that createInterface is refused).
 */
import { runProviderContract } from '../contract.js';
import { gce, provider } from './helpers.js';

runProviderContract('gcp (Compute REST + metadata emulator)', async () => {
  const t = await gce();
  const p = await provider(t);
  return {
    provider: p,
    // Alias ranges come from the Pods secondary range; its Subnet id is `<subnetwork>/<range>`.
    subnetId: 'nodes/pods',
    close: async () => {
      await p.close();
      await t.emu.close();
    },
  };
});
