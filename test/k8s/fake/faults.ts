/**
 * @module fake API server: fault knobs
 * Per path pattern, counted: what a loaded or failing kube-apiserver
 * answers, each in the shape the real server sends it.
 * - 429: API Priority and Fairness (or max-in-flight) rejecting a request:
 *   a plain-text body, not a Status, and a `Retry-After` in seconds
 *   (staging/src/k8s.io/apiserver/pkg/server/filters/priority-and-fairness.go
 *   and maxinflight.go, `tooManyRequests`: `http.Error(w, "Too many requests,
 *   please try again later.", 429)`);
 * - 500: a handler failing (`apierrors.NewInternalError`,
 *   staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go: "Internal error
 *   occurred: …", reason InternalError);
 * - 503: an unready server or aggregated API (reason ServiceUnavailable,
 *   `Retry-After` when given);
 * - slow answers: `delayMs` before the request is served (or failed), as a
 *   server under load or a slow etcd.
 * Faults come after authentication (the filter order of the real chain: APF
 * classifies by user, so an unauthenticated request is a 401 first).
 */
import { ApiError, statusBody } from './store.js';

export interface FaultRule {
  /** Exact path, or a pattern tested against the path (not the query). */
  path: string | RegExp;
  /** Only this method (GET, POST, PUT, PATCH, DELETE); default every method. */
  method?: string;
  /** Watches only (`true`), or never watches (`false`); default both. */
  watch?: boolean;
  /** Answer this status (429, 500, 503, …) instead of serving; undefined: serve (only slower). */
  status?: number;
  /** Sent as `Retry-After` (429 and 503). */
  retryAfterSeconds?: number;
  /** Wait this long before answering or failing. */
  delayMs?: number;
  /** Applies to this many requests, then retires; default every request until removed. */
  times?: number;
}

/** One installed rule; `hits` counts the requests it applied to. */
export class Fault {
  hits = 0;
  constructor(readonly rule: FaultRule) {}

  get active(): boolean {
    return this.rule.times === undefined || this.hits < this.rule.times;
  }

  matches(method: string, path: string, watch: boolean): boolean {
    const r = this.rule;
    if (!this.active || (r.method && r.method !== method)) return false;
    if (r.watch !== undefined && r.watch !== watch) return false;
    return typeof r.path === 'string' ? r.path === path : r.path.test(path);
  }
}

/** What the server does with a faulted request: wait `delayMs`, then answer `reply` (if any) instead of serving. */
export interface FaultAction {
  delayMs: number;
  reply?: { status: number; headers: Record<string, string>; body: string };
}

export class Faults {
  private readonly rules: Fault[] = [];

  add(rule: FaultRule): Fault {
    const f = new Fault(rule);
    this.rules.push(f);
    return f;
  }

  clear(): void {
    this.rules.length = 0;
  }

  /** The first active rule for this request, counted; undefined when none applies. */
  take(method: string, path: string, watch: boolean): FaultAction | undefined {
    const f = this.rules.find((x) => x.matches(method, path, watch));
    if (!f) return undefined;
    f.hits++;
    const { status, retryAfterSeconds, delayMs = 0 } = f.rule;
    if (status === undefined) return { delayMs };
    const retry: Record<string, string> =
      retryAfterSeconds === undefined ? {} : { 'Retry-After': String(retryAfterSeconds) };
    if (status === 429) {
      const headers = { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', ...retry };
      return { delayMs, reply: { status, headers, body: 'Too many requests, please try again later.\n' } };
    }
    const e =
      status === 503
        ? new ApiError(503, 'ServiceUnavailable', 'the server is currently unable to handle the request')
        : status >= 500
          ? internalError('fake fault: injected failure')
          : new ApiError(status, 'BadRequest', `fake fault: status ${status}`);
    const details = retryAfterSeconds === undefined ? e.details : { ...e.details, retryAfterSeconds };
    const body = JSON.stringify(statusBody(new ApiError(e.status, e.reason, e.message, details)));
    return { delayMs, reply: { status, headers: { 'Content-Type': 'application/json', ...retry }, body } };
  }
}

/** apierrors.NewInternalError. */
export function internalError(why: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${why}`, { causes: [{ message: why }] });
}
