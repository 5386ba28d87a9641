/**
 * @module gce emulator http
 * Request/response plumbing shared by the Compute and metadata routes, and
 * the one place that turns the sim's typed errors into what GCE sends:
 * synchronous HTTP errors (`{"error":{code,message,errors:[{reason}]}}`,
 * cloud-apis.md §5.4-5.5) and operation errors (`IP_SPACE_EXHAUSTED`, …).
 */
import type { FrontReply } from '../../emulator-kit/http-front.js';
import { CloudError, IpamError } from '../../errors.js';

/** A response the routes decided on; thrown to unwind, rendered by the server. */
export class HttpReply extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

type HeaderMap = Record<string, string>;

/** GCE's JSON error body with one legacy `errors[]` entry (what 6.x callers parse). */
export function gceError(
  status: number,
  reason: string,
  message: string,
  extra: Record<string, unknown> = {},
  headers: HeaderMap = {},
  entry: Record<string, string> = {},
): HttpReply {
  const errors = [{ message, domain: 'global', reason, ...entry }];
  return new HttpReply(status, { error: { code: status, message, errors, ...extra } }, headers);
}

/**
 * A stale NIC fingerprint: 412 with the body cloud-apis.md §5.4 records
 * (`conditionNotMet`, located at the `If-Match` header, the common Google
 * API convention for a failed precondition; the message text is
 * [UNVERIFIED]).
 */
export function fingerprintMismatch(): HttpReply {
  const where = { location: 'If-Match', locationType: 'header' };
  return gceError(412, 'conditionNotMet', 'Invalid fingerprint.', {}, {}, where);
}

export function jsonReply(status: number, body: unknown, headers: HeaderMap = {}): FrontReply {
  const text = JSON.stringify(body);
  const type = 'application/json; charset=UTF-8';
  return {
    status,
    headers: { 'content-type': type, 'content-length': Buffer.byteLength(text), ...headers },
    body: text,
  };
}

export function textReply(status: number, text: string, headers: HeaderMap = {}): FrontReply {
  const length = Buffer.byteLength(text);
  return { status, headers: { 'content-type': 'application/text', 'content-length': length, ...headers }, body: text };
}

/** The largest request body the emulator reads. */
export const MAX_BODY = 1 << 20;

/** What GCE answers a body over {@link MAX_BODY}. */
export function bodyTooLarge(): HttpReply {
  return gceError(413, 'invalid', 'Request body too large');
}

export interface ThrottleStyle {
  /** 429 RESOURCE_EXHAUSTED (current GCE) or 403 rateLimitExceeded (older responses). */
  status: 429 | 403;
  /** Sent as `Retry-After` when set; real GCE usually sends none. */
  retryAfterSeconds?: number;
}

/** The synchronous HTTP error GCE would send for a typed error raised while handling a request. */
export function httpErrorOf(err: unknown, throttle: ThrottleStyle): HttpReply {
  if (err instanceof HttpReply) return err;
  if (!IpamError.is(err)) {
    return gceError(500, 'backendError', `Internal error: ${(err as Error)?.message ?? String(err)}`);
  }
  const cloudCode = CloudError.isCloud(err) ? err.cloudCode : err.code;
  switch (err.code) {
    case 'CLOUD_THROTTLED': {
      const wait = throttle.retryAfterSeconds;
      const headers: HeaderMap = wait !== undefined ? { 'retry-after': String(wait) } : {};
      const message =
        "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'compute.googleapis.com'.";
      if (throttle.status === 403) return gceError(403, 'rateLimitExceeded', message, {}, headers);
      const details = [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'RATE_LIMIT_EXCEEDED',
          domain: 'googleapis.com',
          metadata: { service: 'compute.googleapis.com' },
        },
      ];
      return gceError(429, 'rateLimitExceeded', message, { status: 'RESOURCE_EXHAUSTED', details }, headers);
    }
    case 'CLOUD_NOT_FOUND':
      return gceError(404, 'notFound', err.message);
    case 'CLOUD_CONFLICT':
      return gceError(412, 'conditionNotMet', err.message);
    case 'CLOUD_UNAUTHORIZED':
      return gceError(403, 'forbidden', err.message);
    case 'CLOUD_SUBNET_FULL':
    case 'CLOUD_NO_PREFIX_BLOCK':
      return gceError(400, isGceCode(cloudCode) ? cloudCode : 'IP_SPACE_EXHAUSTED_WITH_DETAILS', err.message);
    case 'CLOUD_UNAVAILABLE':
      return gceError(503, 'backendError', err.message);
    default:
      return gceError(400, 'invalid', err.message);
  }
}

/** A failure a route words itself, as GCE would, for an operation's `error`. */
export class OperationFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus = 400,
  ) {
    super(message);
  }
}

/** Operation error codes are UPPER_SNAKE (`IP_SPACE_EXHAUSTED`, `QUOTA_EXCEEDED`). */
function isGceCode(code: string): boolean {
  return /^[A-Z][A-Z0-9_]+$/.test(code);
}

/**
 * The `error.errors[0].code` and `httpErrorStatusCode` of an operation that
 * failed with `err`. An injected error whose cloudCode is already a GCE
 * operation code keeps it, so tests can fail operations with any code.
 */
export function operationErrorOf(err: unknown): { code: string; message: string; httpStatus: number } {
  if (err instanceof OperationFailure) return { code: err.code, message: err.message, httpStatus: err.httpStatus };
  const message = (err as Error)?.message ?? String(err);
  const cloudCode = CloudError.isCloud(err) ? err.cloudCode : '';
  const code = IpamError.is(err) ? err.code : 'INTERNAL';
  if (code === 'CLOUD_SUBNET_FULL' || code === 'CLOUD_NO_PREFIX_BLOCK') {
    return { code: isGceCode(cloudCode) ? cloudCode : 'IP_SPACE_EXHAUSTED', message, httpStatus: 400 };
  }
  if (isGceCode(cloudCode)) return { code: cloudCode, message, httpStatus: code === 'CLOUD_UNAVAILABLE' ? 503 : 400 };
  switch (code) {
    case 'CLOUD_THROTTLED':
      return { code: 'RATE_LIMIT_EXCEEDED', message, httpStatus: 429 };
    case 'CLOUD_NOT_FOUND':
      return { code: 'RESOURCE_NOT_FOUND', message, httpStatus: 404 };
    case 'CLOUD_INVALID':
    case 'CLOUD_IP_LIMIT':
      return { code: 'INVALID_FIELD_VALUE', message, httpStatus: 400 };
    default:
      return { code: 'INTERNAL_ERROR', message, httpStatus: 500 };
  }
}
