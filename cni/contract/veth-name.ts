/**
 * @module veth name
 * The host-side veth name of an attachment, computed the same way by ipamd (which creates it) and by the CNI
 * executable (which tears it down when ipamd is unreachable): part of their contract.
 */

/**
 * Host veth name: `vpc` + 11 hex chars of a hash of (containerId, ifName).
 * Stable, so DEL finds it from the key alone; 14 chars fit IFNAMSIZ (15).
 */
export function hostVethName(containerId: string, ifName: string): string {
  // FNV-1a 64-bit: no crypto import on the hot path, collisions irrelevant at node scale.
  let h = 0xcbf29ce484222325n;
  for (const ch of `${containerId}/${ifName}`) {
    h ^= BigInt(ch.charCodeAt(0));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return `vpc${h.toString(16).padStart(16, '0').slice(0, 11)}`;
}
