/**
 * @module azure errors
 * The one place Azure SDK errors become the typed errors of
 * `providers/errors.ts`. Three shapes arrive here (cloud-apis.md §4.6, §4.4):
 *
 * 1. `RestError` from a synchronous call: `statusCode`, `code` (ARM's
 *    `error.code`), response headers (Retry-After);
 * 2. a failed long-running operation: core-lro throws a plain `Error` whose
 *    only structure is its message. The NIC writer captures the operation's
 *    `{error:{code,message}}` body and passes it as {@link LroFailure}; the
 *    message is parsed only when that capture is missing;
 * 3. network errors (`ECONNREFUSED`, …) and IMDS failures.
 *
 * Codes: SubnetIsFull → SubnetFullError; 409 AnotherOperationInProgress and
 * 412 PreconditionFailedEtagMismatch → ConflictError (re-read and retry);
 * IpConfigurationsOnSameNicCannotUseDifferentSubnets and
 * AddingOrDeletingNetworkInterfacesOnARunningVirtualMachineNotSupported →
 * InvalidCloudRequestError (a retry cannot fix them; sources in
 * docs/sim-cloud.md, "Azure emulator"); 429 → ThrottledError with
 * `retryAfterMs` from `retry-after-ms` / `x-ms-retry-after-ms` / `Retry-After`;
 * invalid addresses → InvalidCloudRequestError; the ipConfiguration limit →
 * IpLimitError; 401/403 → UnauthorizedError; 404 → CloudNotFoundError;
 * anything else (5xx, internal operation failures) → CloudUnavailableError.
 */
import {
  CloudError,
  CloudNotFoundError,
  CloudUnavailableError,
  ConflictError,
  InvalidCloudRequestError,
  IpLimitError,
  SubnetFullError,
  ThrottledError,
  UnauthorizedError,
  type CloudErrorInit,
} from '../errors.js';

/** The `{code, message}` of a failed long-running operation's status body. */
export interface LroFailure {
  code: string;
  message: string;
}

type Cls = new (init: CloudErrorInit) => CloudError;

const BY_CODE: Record<string, Cls> = {
  SubnetIsFull: SubnetFullError,
  AnotherOperationInProgress: ConflictError,
  PreconditionFailed: ConflictError,
  PreconditionFailedEtagMismatch: ConflictError,
  Conflict: ConflictError,
  RetryableError: ThrottledError,
  TooManyRequests: ThrottledError,
  PrivateIPAddressNotInSubnet: InvalidCloudRequestError,
  PrivateIPAddressInReservedRange: InvalidCloudRequestError,
  PrivateIPAddressIsAllocated: InvalidCloudRequestError,
  PrivateIPAddressInUse: InvalidCloudRequestError,
  InvalidResourceReference: InvalidCloudRequestError,
  InvalidRequestFormat: InvalidCloudRequestError,
  OperationNotSupported: InvalidCloudRequestError,
  IpConfigurationsOnSameNicCannotUseDifferentSubnets: InvalidCloudRequestError,
  AddingOrDeletingNetworkInterfacesOnARunningVirtualMachineNotSupported: InvalidCloudRequestError,
  NetworkInterfaceIpConfigurationCountLimitReached: IpLimitError,
  QuotaExceeded: IpLimitError,
  AuthorizationFailed: UnauthorizedError,
  AuthenticationFailed: UnauthorizedError,
  LinkedAuthorizationFailed: UnauthorizedError,
  NotFound: CloudNotFoundError,
  ResourceNotFound: CloudNotFoundError,
};

function byStatus(status: number | undefined): Cls {
  if (status === 429) return ThrottledError;
  if (status === 409 || status === 412) return ConflictError;
  if (status === 401 || status === 403) return UnauthorizedError;
  if (status === 404) return CloudNotFoundError;
  if (status !== undefined && status >= 400 && status < 500) return InvalidCloudRequestError;
  return CloudUnavailableError;
}

interface RestErrorLike {
  name?: string;
  code?: string;
  statusCode?: number;
  message?: string;
  response?: { headers?: { get(name: string): string | null | undefined } };
}

/** Milliseconds the server asked us to wait, from any of the three headers ARM uses. */
export function retryAfterMs(get: (name: string) => string | null | undefined, nowMs: number): number | undefined {
  const ms = get('retry-after-ms') ?? get('x-ms-retry-after-ms') ?? undefined;
  if (ms !== undefined && /^\d+$/.test(ms.trim())) return Number(ms);
  const ra = get('retry-after') ?? undefined;
  if (ra === undefined) return undefined;
  if (/^\d+$/.test(ra.trim())) return Number(ra) * 1000;
  const at = Date.parse(ra);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

const LRO_MESSAGE = /^The long-running operation has failed\.\s+([A-Za-z0-9_.]+)\.\s*([\s\S]*)$/;

/**
 * Maps anything thrown by an Azure SDK call (or IMDS fetch) to a typed cloud
 * error. `lro` is the failed operation's body when the caller captured it;
 * `nowMs` is only used for an HTTP-date Retry-After.
 */
export function mapAzureError(err: unknown, operation: string, lro?: LroFailure, nowMs = 0): CloudError {
  if (CloudError.isCloud(err)) return err;
  const e = (err ?? {}) as RestErrorLike;
  const message = e.message ?? String(err);
  const base = { provider: 'azure', operation, cause: err };
  if (typeof message === 'string' && message.startsWith('The long-running operation has failed')) {
    const m = LRO_MESSAGE.exec(message);
    const code = lro?.code ?? m?.[1] ?? 'OperationFailed';
    const Cls = BY_CODE[code] ?? CloudUnavailableError;
    return new Cls({ ...base, cloudCode: code, message: lro?.message ?? m?.[2] ?? message });
  }
  if (e.name === 'RestError' || e.statusCode !== undefined) {
    const status = e.statusCode;
    const code =
      e.code && !/^[A-Z_]+$/.test(e.code) ? e.code : status !== undefined ? `HTTP${status}` : (e.code ?? 'RestError');
    const Cls = (e.code && BY_CODE[e.code]) || byStatus(status);
    const headers = e.response?.headers;
    const wait = headers ? retryAfterMs((n) => headers.get(n), nowMs) : undefined;
    return new Cls({ ...base, cloudCode: code, message, ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
  }
  // Connection refused/reset, timeouts, aborted fetches: the cloud is unreachable for now.
  const code = (err as { code?: string })?.code ?? (err as Error)?.name ?? 'NetworkError';
  return new CloudUnavailableError({ ...base, cloudCode: code, message });
}
