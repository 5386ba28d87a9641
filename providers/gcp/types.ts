/**
 * @module gcp types
 * Shapes shared by the GCP adapter's files. No SDK type crosses these: the
 * Compute facade (`compute.ts`) turns SDK messages into these plain records.
 */

/** The slice of ipamd's Clock the adapter needs (declared here: providers/ does not import ipamd/). */
export interface GcpClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** One entry of a NIC's `aliasIpRanges`. */
export interface AliasRange {
  /** A CIDR in responses; in requests also a bare length such as `/28` (GCE picks the block). */
  ipCidrRange: string;
  /** Secondary range name; absent = the subnetwork's primary range. */
  subnetworkRangeName?: string;
}

export interface GceNic {
  name: string;
  networkIP: string;
  fingerprint: string;
  /** Full URLs, as the API returns them. */
  network: string;
  subnetwork: string;
  aliasIpRanges: AliasRange[];
}

export interface GceInstance {
  id: string;
  name: string;
  zone: string;
  machineType: string;
  nic0: GceNic;
}

export interface GceSubnetwork {
  name: string;
  region: string;
  network: string;
  ipCidrRange: string;
  secondaryIpRanges: Array<{ rangeName: string; ipCidrRange: string }>;
}

/** A zone operation as far as the adapter follows it. */
export interface GceOperation {
  name: string;
  status: 'PENDING' | 'RUNNING' | 'DONE';
  error?: { errors: Array<{ code: string; message: string }> };
  httpErrorStatusCode?: number;
}

export type Logger = {
  info(o: object, m?: string): void;
  warn(o: object, m?: string): void;
};
