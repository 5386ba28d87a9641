/**
 * @module emulated node
 * What each cloud's emulator hands `vpc-ipamctl emulate` and the daemon's embedded mode: one node of an
 * emulated cloud, its cloud API and its metadata service on one loopback listener. The three clouds differ in
 * what they emulate, not in this shape, so the callers treat them alike.
 */

export interface EmulatedNode {
  /** `http://127.0.0.1:PORT`: the cloud API and the metadata service. */
  readonly endpoint: string;
  /** The instance the metadata service describes: EC2 instance id, Azure VM name, GCE instance name. */
  readonly instance: string;
  /** Variables that point ipamd at this emulator. */
  readonly env: Record<string, string>;
  /** Stops listening; operations still pending land first, and a state file is saved. */
  close(): Promise<void>;
}
