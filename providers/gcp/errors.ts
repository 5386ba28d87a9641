/**
 * @module gcp errors
 * The one place GCP failures become the typed errors of
 * `providers/errors.ts`. Three shapes arrive (cloud-apis.md §5.5):
 *
 * - `GaxiosError` (compute 6.x on Node 20, and direct REST calls): `code` is
 *   the HTTP status, or a socket code such as `ECONNREFUSED`; the JSON body
 *   is in `response.data` or, from the SDK's REST transport, the message.
 * - `GoogleError` (compute 7.x): `code` is a gRPC code, `httpStatusCode` and
 *   `reason` are set.
 * - A DONE operation with `error.errors[].code` (`IP_SPACE_EXHAUSTED`, …),
 *   which is not an exception at all: see {@link operationError}.
 *
 * Classification is by HTTP status and the API's `reason`/`code` strings,
 * never by message text.
 */
import {
  CloudError,
  CloudNotFoundError,
  CloudUnavailableError,
  ConflictError,
  InvalidCloudRequestError,
  IpamError,
  IpLimitError,
  SubnetFullError,
  ThrottledError,
  UnauthorizedError,
  type CloudErrorInit,
} from '../errors.js';

const PROVIDER = 'gcp';

interface Parsed {
  status: number | undefined;
  reason: string;
  message: string;
  retryAfterMs: number | undefined;
}

/** gRPC codes compute 7.x reports instead of HTTP statuses. */
const GRPC_TO_HTTP: Record<number, number> = {
  3: 400,
  5: 404,
  6: 409,
  7: 403,
  8: 429,
  9: 412,
  10: 409,
  13: 500,
  14: 503,
  16: 401,
};

const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function headerOf(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const h = headers as { get?: (n: string) => string | null } & Record<string, unknown>;
  if (typeof h.get === 'function') return h.get(name) ?? undefined;
  const v = h[name] ?? h[name.toLowerCase()];
  return typeof v === 'string' ? v : undefined;
}

/** Seconds or an HTTP date, as `Retry-After` allows. */
function retryAfter(headers: unknown): number | undefined {
  const v = headerOf(headers, 'retry-after');
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v) * 1000;
  // An HTTP date is read against the response's own Date header (no local clock here).
  const at = Date.parse(v);
  const sent = Date.parse(headerOf(headers, 'date') ?? '');
  return Number.isNaN(at) || Number.isNaN(sent) ? undefined : Math.max(0, at - sent);
}

function bodyOf(err: Record<string, unknown>): Record<string, unknown> | undefined {
  const data = (err.response as { data?: unknown } | undefined)?.data;
  if (data && typeof data === 'object' && 'error' in data) return (data as { error: Record<string, unknown> }).error;
  if (typeof data === 'string' && data.startsWith('{')) {
    try {
      return (JSON.parse(data) as { error?: Record<string, unknown> }).error;
    } catch {
      // not JSON after all; fall through to the message
    }
  }
  const msg = typeof err.message === 'string' ? err.message.trim() : '';
  if (msg.startsWith('{')) {
    try {
      return (JSON.parse(msg) as { error?: Record<string, unknown> }).error;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function parse(raw: unknown): Parsed {
  const err = (raw ?? {}) as Record<string, unknown>;
  const body = bodyOf(err);
  const errors = Array.isArray(body?.errors) ? (body.errors as Array<Record<string, unknown>>) : [];
  const details = Array.isArray(body?.details) ? (body.details as Array<Record<string, unknown>>) : [];
  const reason =
    (typeof err.reason === 'string' && err.reason) ||
    (typeof errors[0]?.reason === 'string' && (errors[0].reason as string)) ||
    (typeof details.find((d) => typeof d.reason === 'string')?.reason === 'string' &&
      (details.find((d) => typeof d.reason === 'string')!.reason as string)) ||
    (typeof body?.status === 'string' && (body.status as string)) ||
    '';
  let status: number | undefined;
  if (typeof err.httpStatusCode === 'number') status = err.httpStatusCode;
  else if (typeof body?.code === 'number') status = body.code;
  else if (typeof (err.response as { status?: unknown } | undefined)?.status === 'number')
    status = (err.response as { status: number }).status;
  else if (typeof err.status === 'number' && err.status >= 100) status = err.status;
  else if (typeof err.code === 'number') status = err.code >= 100 ? err.code : GRPC_TO_HTTP[err.code];
  const message =
    typeof body?.message === 'string' ? body.message : typeof err.message === 'string' ? err.message : String(raw);
  return {
    status,
    reason,
    message,
    retryAfterMs: retryAfter((err.response as { headers?: unknown } | undefined)?.headers),
  };
}

/**
 * Maps any failure of a GCP call (SDK, REST or metadata) to a typed CloudError. Typed errors pass through unchanged.
 */
export function mapGcpError(raw: unknown, operation: string): CloudError {
  if (CloudError.isCloud(raw)) return raw;
  if (IpamError.is(raw))
    return new InvalidCloudRequestError({
      provider: PROVIDER,
      operation,
      cloudCode: raw.code,
      message: raw.message,
      cause: raw,
    });
  const err = (raw ?? {}) as Record<string, unknown>;
  const p = parse(raw);
  const init = (cloudCode: string): CloudErrorInit => ({
    provider: PROVIDER,
    operation,
    cloudCode,
    message: p.message,
    cause: raw,
    ...(p.retryAfterMs !== undefined ? { retryAfterMs: p.retryAfterMs } : {}),
  });
  const code = typeof err.code === 'string' ? err.code : (err.cause as { code?: unknown } | undefined)?.code;
  if (p.status === undefined) {
    if (err.name === 'AbortError' || err.name === 'TimeoutError') return new CloudUnavailableError(init('timeout'));
    if (typeof code === 'string' && SOCKET_CODES.has(code)) return new CloudUnavailableError(init(code));
    return new CloudUnavailableError(init(typeof code === 'string' ? code : 'unreachable'));
  }
  const reason = p.reason;
  if (/^IP_SPACE_EXHAUSTED/.test(reason)) return new SubnetFullError(init(reason));
  if (p.status === 429 || /ratelimitexceeded|rate_limit_exceeded|resource_exhausted/i.test(reason))
    return new ThrottledError(init(reason || 'rateLimitExceeded'));
  if (p.status === 412) return new ConflictError(init(reason || 'conditionNotMet'));
  if (reason === 'resourceNotReady' || p.status === 409) return new ConflictError(init(reason || 'conflict'));
  if (p.status === 401 || p.status === 403) return new UnauthorizedError(init(reason || String(p.status)));
  if (p.status === 404) return new CloudNotFoundError(init(reason || 'notFound'));
  if (p.status >= 500) return new CloudUnavailableError(init(reason || String(p.status)));
  return new InvalidCloudRequestError(init(reason || String(p.status)));
}

/** A DONE zone operation as returned by the SDK (only the fields read here). */
export interface OperationLike {
  name?: string | null;
  status?: string | number | null;
  error?: { errors?: Array<{ code?: string | null; message?: string | null }> | null } | null;
  httpErrorStatusCode?: number | null;
}

/**
 * The typed error of a DONE operation that failed, or undefined when it
 * succeeded. GCE reports failures of accepted operations here, not as HTTP
 * errors: `IP_SPACE_EXHAUSTED` is a full secondary range.
 */
export function operationError(op: OperationLike, operation: string): CloudError | undefined {
  const first = op.error?.errors?.[0];
  if (!first) return undefined;
  const code = first.code ?? 'UNKNOWN';
  const init: CloudErrorInit = {
    provider: PROVIDER,
    operation,
    cloudCode: code,
    message: `operation ${op.name ?? '?'} failed: ${first.message ?? code}`,
  };
  if (/^IP_SPACE_EXHAUSTED/.test(code)) return new SubnetFullError(init);
  if (code === 'RATE_LIMIT_EXCEEDED') return new ThrottledError(init);
  if (code === 'QUOTA_EXCEEDED') return new IpLimitError(init);
  if (code === 'CONDITION_NOT_MET' || code === 'RESOURCE_NOT_READY') return new ConflictError(init);
  if (code === 'RESOURCE_NOT_FOUND') return new CloudNotFoundError(init);
  if (code === 'INTERNAL_ERROR' || code === 'SERVICE_UNAVAILABLE' || (op.httpErrorStatusCode ?? 0) >= 500)
    return new CloudUnavailableError(init);
  return new InvalidCloudRequestError(init);
}
