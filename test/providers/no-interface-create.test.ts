/**
 * The create → attach → undo audit on the clouds that cannot attach an
 * interface to a running VM (Azure NICs, GCE nic0 with alias ranges): there
 * createInterface is refused with a typed error before any cloud call, so a
 * failure or a crash there cannot leave anything behind; the cloud is byte for
 * byte what it was. (The sim and AWS, which do create, are covered by their
 * interface-leaks tests.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AzureEmulator } from '../../providers/azure/emulator/index.js';
import type { CloudProvider } from '../../providers/types.js';
import { emulator, NODES_ID, provider as azureProvider } from './azure/helpers.js';
import { gce, provider as gcpProvider, type TestEmulator } from './gcp/helpers.js';
import { failure } from './aws/helpers.js';

let azure: AzureEmulator | undefined;
let gcp: TestEmulator | undefined;
const open: CloudProvider[] = [];
afterEach(async () => {
  for (const p of open.splice(0)) await p.close?.();
  await azure?.close();
  await gcp?.emu.close();
  azure = undefined;
  gcp = undefined;
});

describe('clouds without run-time interfaces', () => {
  it('Azure: createInterface is refused before any call; no NIC, no address, no request', async () => {
    azure = await emulator();
    const p = azureProvider(azure);
    open.push(p);
    await p.describeNode();
    const before = JSON.stringify(azure.world.cloud.toJSON());
    const calls = azure.calls();
    expect(await failure(p.createInterface({ subnetId: NODES_ID, initial: { kind: 'ip', count: 5 } }))).toMatchObject({
      code: 'CLOUD_INVALID',
      cloudCode: 'OperationNotSupported',
    });
    expect(JSON.stringify(azure.world.cloud.toJSON())).toBe(before);
    expect(azure.calls()).toEqual(calls);
    expect((p as CloudProvider).reclaimLeakedInterfaces).toBeUndefined(); // nothing to reclaim
  });

  it('GCP: createInterface is refused before any call; no nic, no range, no request', async () => {
    gcp = await gce();
    const p = await gcpProvider(gcp);
    open.push(p);
    await p.describeNode();
    const before = JSON.stringify(gcp.cloud.toJSON());
    const requests = gcp.emu.requests().length;
    expect(await failure(p.createInterface())).toMatchObject({ code: 'CLOUD_NIC_LIMIT' });
    expect(JSON.stringify(gcp.cloud.toJSON())).toBe(before);
    expect(gcp.emu.requests()).toHaveLength(requests);
    expect((p as CloudProvider).reclaimLeakedInterfaces).toBeUndefined();
  });
});
