/**
 * @module Go JSON encodings
 * How Go's encoding/json writes the two standard-library types the AWS VPC CNI's introspection marshals as they
 * are, so that tools written against its output (aws-cni-support.sh, jq one-liners in runbooks) read ours:
 * - `time.Time`: RFC 3339 with nanoseconds, trailing zeros of the fraction dropped (`time.RFC3339Nano`); the
 *   zero time, which the AWS CNI leaves in a field never set, is `0001-01-01T00:00:00Z`;
 * - `net.IPNet`: a struct `{IP, Mask}`; `net.IP` has a text form, `net.IPMask` is a byte slice and so base64
 *   (`/////w==` is a /32 of IPv4, `////8A==` a /28).
 * We run in UTC as the aws-node container does, so times end in `Z`.
 */
import { Buffer } from 'node:buffer';
import { formatAddress, type Cidr } from '../../providers/net/cidr.js';

export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** Epoch ms as Go marshals a `time.Time` in UTC; undefined is the zero time. */
export function goTime(ms: number | undefined): string {
  if (ms === undefined) return GO_ZERO_TIME;
  return new Date(ms)
    .toISOString()
    .replace(/(\.\d*?)0+Z$/, '$1Z')
    .replace(/\.Z$/, 'Z');
}

export interface GoIPNet {
  IP: string;
  Mask: string;
}

/** A block as Go marshals its `net.IPNet`: the mask is 4 bytes for IPv4, 16 for IPv6, in base64. */
export function goIPNet(c: Cidr): GoIPNet {
  const bytes = c.family === 4 ? 4 : 16;
  const bits = BigInt(bytes * 8);
  const all = (1n << bits) - 1n;
  const mask = all ^ ((1n << (bits - BigInt(c.prefixLength))) - 1n);
  const hex = mask.toString(16).padStart(bytes * 2, '0');
  return { IP: formatAddress(c.family, c.base), Mask: Buffer.from(hex, 'hex').toString('base64') };
}

/** Go sorts map keys when it marshals a map (byte order of the key strings); objects built so read the same. */
export function goSortedKeys<T>(entries: Iterable<[string, T]>): Record<string, T> {
  const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(sorted);
}
