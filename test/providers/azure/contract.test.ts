/**
 * The shared CloudProvider contract (test/providers/contract.ts) on the Azure
 * provider over its emulator. Declared skips, decided by the contract itself
 * from getLimits: no interface creation (Azure cannot hot-add NICs, so the
 * contract checks that createInterface fails) and no prefix delegation.
 */
import { runProviderContract } from '../contract.js';
import { emulator, PODS_ID, provider } from './helpers.js';

runProviderContract('azure (ARM + IMDS emulator)', async () => {
  const emu = await emulator({ podSubnet: { name: 'pods', cidr: '10.240.16.0/24' } });
  return { provider: provider(emu), subnetId: PODS_ID, close: () => emu.close() };
});
