/**
 * @module azure credential choice
 * The TokenCredential that `AZURE_CREDENTIAL` names (providers/azure/config.ts; docs/azure.md):
 * `managed-identity`, the VM's identity through IMDS's token endpoint (`managed-identity.ts`);
 * `default`, `DefaultAzureCredential` (Workload Identity, a service principal, then managed identity
 * through MSAL), imported only then so no other path loads @azure/identity and MSAL; `static`, the
 * emulator's test token.
 */
import type { TokenCredential } from '@azure/core-auth';
import type { Clock } from '../clock.js';
import type { AzureSettings } from './config.js';
import { StaticTestCredential } from './credential.js';
import { ManagedIdentityCredential } from './managed-identity.js';

export async function credentialFor(s: AzureSettings, clock: Clock): Promise<TokenCredential> {
  if (s.credential === 'static') return new StaticTestCredential(undefined, undefined, () => clock.now());
  if (s.credential === 'managed-identity') {
    const clientId = s.managedIdentityClientId;
    return new ManagedIdentityCredential({ endpoint: s.identityEndpoint, clock, ...(clientId ? { clientId } : {}) });
  }
  const { DefaultAzureCredential } = await import('@azure/identity');
  const clientId = s.managedIdentityClientId;
  return new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
}
