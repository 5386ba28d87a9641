/**
 * @module gce emulator fingerprints
 * NIC fingerprints, GCE's optimistic lock on `updateNetworkInterface`. The
 * API reference of `networkInterfaces[].fingerprint`: "Fingerprint hash of
 * contents stored in this network interface. [...] An up-to-date
 * fingerprint must be provided in order to update the NetworkInterface. The
 * request will fail with error 400 Bad Request if the fingerprint is not
 * provided, or 412 Precondition Failed if the fingerprint is out of date."
 * (docs.cloud.google.com/compute/docs/reference/rest/v1/instances). What
 * "contents" covers is not said; cloud-apis.md §5.4 records that each
 * successful update changes it. The emulator takes the strict reading: a
 * fingerprint names a version, so a client holding one from before two
 * updates that cancel out (add X, remove X) is refused. A hash of the ranges
 * alone would let that write through on top of changes it never saw; being
 * stricter than GCE here can only cost a client one more re-read.
 *
 * `per-update` (the default) is that: a counter per NIC, bumped by every
 * update operation that completes successfully and by any change to the
 * NIC's ranges made behind the emulator's back (a test writing the sim
 * directly), hashed with a salt drawn per emulator, so fingerprints also
 * change across an emulator restart (a client then re-reads once).
 * `content` is the old, kinder hash of the ranges, kept for comparison.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { SimInterface } from '../../sim/index.js';

export type FingerprintMode = 'per-update' | 'content';

const hash = (s: string): string => createHash('sha256').update(s).digest('base64').slice(0, 12);

export class NicFingerprints {
  private readonly salt = randomUUID();
  /** Per NIC: the version counter and the ranges it was last seen with. */
  private readonly seen = new Map<string, { seq: number; ranges: string }>();

  constructor(readonly mode: FingerprintMode = 'per-update') {}

  /** The fingerprint `instances.get` shows for `nic` now. */
  of(nic: SimInterface): string {
    const ranges = nic.prefixes.join(',');
    if (this.mode === 'content') return hash(`${nic.id}|${ranges}`);
    const s = this.seen.get(nic.id);
    if (!s) this.seen.set(nic.id, { seq: 0, ranges });
    else if (s.ranges !== ranges) Object.assign(s, { seq: s.seq + 1, ranges }); // changed behind our back
    return hash(`${this.salt}|${nic.id}|${this.seen.get(nic.id)!.seq}`);
  }

  /** An update operation on `nic` completed: a new version, whatever the ranges now are. */
  updated(nic: SimInterface): void {
    const s = this.seen.get(nic.id) ?? { seq: 0, ranges: '' };
    this.seen.set(nic.id, { seq: s.seq + 1, ranges: nic.prefixes.join(',') });
  }
}
