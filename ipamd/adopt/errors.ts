/**
 * @module adoption errors
 * Why ipamd refuses to adopt a node the AWS VPC CNI manages. Each refusal names the one item that cannot be
 * accounted for (an allocation, an address, a rule), so the operator can fix it or roll back to aws-node
 * before any Pod is served by the wrong daemon. A refusal stops the start: nothing was changed.
 */
import { IpamError } from '../../providers/errors.js';

/**
 * - `aws-node-running`: aws-node still answers on its socket, so its checkpoint may still change;
 * - `checkpoint-unreadable`, `checkpoint-version`, `checkpoint-invalid`: the AWS checkpoint itself;
 * - `duplicate-ip`, `duplicate-key`: two allocations share an address or an attachment;
 * - `address-not-on-eni`: a live allocation's address is on no interface this node manages;
 * - `address-held`: our own checkpoint gives the address to another attachment;
 * - `foreign-table`: a live allocation's `from` rule points at a table we do not manage;
 * - `veth-prefix`: a live allocation's host veth does not carry the prefix our rules match;
 * - `ipv6`, `migrated-from-cri`, `unnamed-pod`, `multi-nic`: forms of allocation adoption does not cover.
 */
export type AdoptionRefusal =
  | 'aws-node-running'
  | 'checkpoint-unreadable'
  | 'checkpoint-version'
  | 'checkpoint-invalid'
  | 'duplicate-ip'
  | 'duplicate-key'
  | 'address-not-on-eni'
  | 'address-held'
  | 'foreign-table'
  | 'veth-prefix'
  | 'ipv6'
  | 'migrated-from-cri'
  | 'unnamed-pod'
  | 'multi-nic';

export class AdoptionRefusedError extends IpamError {
  constructor(
    readonly refusal: AdoptionRefusal,
    /** The item, as `containerID/ifName ip` or the file. */
    readonly item: string,
    detail: string,
  ) {
    super('CONFIG_INVALID', `adopting aws-node refused (${refusal}) at ${item}: ${detail}`);
  }
}
