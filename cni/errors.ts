/**
 * @module CNI errors
 * The plugin's edge speaks the spec: every failure becomes a {@link CniError}
 * with a spec code (0-99) or one of ours (100+), printed on stdout as
 * `{cniVersion, code, msg, details}` with a non-zero exit status.
 * ipamd's error bodies are mapped here, once, by `code` and `retryable`.
 */

import type { ErrorBody } from './contract/protocol.js';

/** Well-known codes from the CNI spec (Section 5, "Error"). */
export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  TryAgainLater: 11,
  NotAvailable: 50,
  NotAvailableLimitedConnectivity: 51,
  // --- vpc-ipam codes (100+) ---
  /** ipamd answered with an error that is not retryable and has no closer spec code. */
  IpamdError: 100,
  /** Wiring the Pod netns failed (veth, address, routes, neighbour, rule). */
  NetnsFailed: 101,
  /** CHECK found the attachment different from prevResult or from the kernel. */
  CheckFailed: 102,
  /** ipamd's answer was not understood (protocol mismatch, malformed reply). */
  IpamdProtocol: 103,
  /** The cloud refused in a way that waiting will not fix (limits, subnet full, auth). */
  CloudError: 104,
  /** Anything unexpected inside the plugin. */
  Internal: 999,
} as const;
export type CniCodeValue = (typeof CniCode)[keyof typeof CniCode];

const MESSAGES: Record<number, string> = {
  1: 'Incompatible CNI version',
  2: 'Unsupported field in network configuration',
  3: 'Container unknown or does not exist',
  4: 'Invalid environment variables',
  5: 'I/O failure',
  6: 'Failed to decode content',
  7: 'Invalid network configuration',
  11: 'Try again later',
  50: 'Plugin not available',
  51: 'Plugin not available, existing containers may have limited connectivity',
  100: 'ipamd error',
  101: 'Failed to wire the Pod network namespace',
  102: 'Attachment check failed',
  103: 'ipamd protocol error',
  104: 'Cloud provider refused the request',
  999: 'Internal error',
};

/** A failure to report to the runtime; `msg` is short, `details` carries the specifics. */
export class CniError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
    msg?: string,
  ) {
    super(msg ?? MESSAGES[code] ?? 'Error');
    this.name = 'CniError';
  }

  /** The spec's error object; `cniVersion` is the version in use for this call. */
  toJSON(cniVersion: string): { cniVersion: string; code: number; msg: string; details: string } {
    return { cniVersion, code: this.code, msg: this.message, details: this.details };
  }
}

export const envError = (variable: string, why: string): CniError =>
  new CniError(CniCode.InvalidEnvironment, `${variable}: ${why}`, `Invalid environment variable ${variable}`);

export const configError = (key: string, why: string): CniError =>
  new CniError(CniCode.InvalidNetworkConfig, `${key}: ${why}`, `Invalid network configuration: ${key}`);

/** Spec: "The error message must contain the key and value of the unsupported field." */
export const unsupportedField = (key: string, value: unknown): CniError =>
  new CniError(
    CniCode.UnsupportedField,
    `${key}=${JSON.stringify(value)} is not supported by vpc-ipam`,
    `Unsupported field ${key}=${JSON.stringify(value)}`,
  );

/**
 * A container ID, interface name or network name broke the rules shared with
 * ipamd (cni/contract/identifiers.ts). `problem` is the same stable code ipamd's
 * parser reports for the same name; `code` is 4 for a `CNI_*` variable, 7 for
 * a configuration key.
 */
export class CniIdentifierError extends CniError {
  constructor(
    code: typeof CniCode.InvalidEnvironment | typeof CniCode.InvalidNetworkConfig,
    readonly field: string,
    readonly problem: string,
    why: string,
  ) {
    const kind = code === CniCode.InvalidEnvironment ? 'environment variable' : 'network configuration:';
    super(code, `${field}: ${why}`, `Invalid ${kind} ${field}`);
  }
}

/** Maps an ipamd error body to the CNI code the runtime should act on. */
export function fromIpamdError(op: string, e: ErrorBody): CniError {
  const details = `ipamd ${op}: ${e.code}: ${e.msg}${e.details ? ` (${e.details})` : ''}`;
  // Retryable first: POOL_EXHAUSTED while the pool grows, throttling, conflicts.
  if (e.retryable) return new CniError(CniCode.TryAgainLater, details);
  switch (e.code) {
    case 'POOL_EXHAUSTED':
      return new CniError(CniCode.TryAgainLater, details);
    case 'CONFIG_INVALID':
      return new CniError(CniCode.InvalidNetworkConfig, details);
    case 'NETNS_FAILED':
      return new CniError(CniCode.NetnsFailed, details);
    case 'NETNS_REFUSED':
      // ipamd found CNI_NETNS to be the host's or its own namespace: the variable is what is wrong.
      return new CniError(CniCode.InvalidEnvironment, details, 'Invalid environment variable CNI_NETNS');
    case 'BAD_REQUEST':
    case 'BAD_VERSION':
      return new CniError(CniCode.IpamdProtocol, details);
    case 'NOT_FOUND':
      return new CniError(op === 'check' ? CniCode.CheckFailed : CniCode.IpamdError, details);
    default:
      if (e.code.startsWith('CLOUD_')) return new CniError(CniCode.CloudError, details);
      return new CniError(CniCode.IpamdError, details);
  }
}
