/**
 * @module azure emulator etags
 * ARM etags as the Network RP writes them: weak, a new GUID on every change
 * (`W/"ca59b365-f8b1-4e05-b43e-bb1f45bbe914"`, captured in azure-sdk-for-net
 * `sdk/network/Azure.ResourceManager.Network/tests/SessionRecords/NetworkInterfaceTests/
 * AssertMultiIpConfigOnDifferentSubnetFails.json`), and the 412 a stale
 * `If-Match` gets. A counter would let a client guess the next etag; a GUID
 * cannot be guessed, so a client can only send back one it was given.
 */
import { createHash, randomUUID } from 'node:crypto';
import { ArmError } from './arm-error.js';

/** A fresh etag value (the part between the quotes). */
export function newEtag(): string {
  return randomUUID();
}

/** The header/body form: `W/"<guid>"`. */
export function etagHeader(value: string): string {
  return `W/"${value}"`;
}

/**
 * A GUID that is a function of `seed`: the etag of something the emulator
 * does not version itself (a subnet, a VNet) or whose model is made of its
 * NICs (a VM), so it changes exactly when they do.
 */
export function stableGuid(seed: string): string {
  const h = createHash('sha1').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * ARM's answer to an `If-Match` that is neither `*` nor the resource's etag:
 * 412 `PreconditionFailedEtagMismatch`. The header is compared as sent (a
 * bare `"<guid>"` without `W/` does not match here; real ARM may be more
 * lenient, which only makes this stricter). The message is the Compute RP's
 * wording, the one kubernetes-sigs/cloud-provider-azure parses both etags out
 * of (`pkg/azureclients/.../retry` EtagMismatchPattern); ARM bodies of this
 * kind carry `details: []`.
 */
export function checkIfMatch(ifMatch: string | undefined, current: string): void {
  if (ifMatch === undefined || ifMatch.trim() === '*' || ifMatch.trim() === current) return;
  throw new ArmError(
    412,
    'PreconditionFailedEtagMismatch',
    `Etag provided in if-match header ${ifMatch} does not match etag ${current} of resource.`,
  );
}
