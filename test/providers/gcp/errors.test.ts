/**
 * errors.ts maps every failure shape once. The 6.x shapes (GaxiosError) are
 * produced by real SDK calls in provider.test.ts; here the 7.x shape is
 * produced by google-gax's own parser (`GoogleError.parseHttpError`, what
 * the 7.x REST transport calls on an error body), operations by their JSON,
 * and socket failures by a real fetch to a closed port.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { GoogleError } from 'google-gax';
import { mapGcpError, operationError } from '../../../providers/gcp/index.js';

const body = (code: number, reason: string, extra: Record<string, unknown> = {}) => ({
  error: { code, message: `m${code}`, errors: [{ message: `m${code}`, domain: 'global', reason }], ...extra },
});

describe('mapGcpError', () => {
  it('maps compute 7.x GoogleErrors by their gRPC code and ErrorInfo reason', () => {
    const cases: Array<[unknown, string, string]> = [
      [body(412, 'conditionNotMet'), 'CLOUD_CONFLICT', ''],
      [
        body(429, 'rateLimitExceeded', {
          status: 'RESOURCE_EXHAUSTED',
          details: [
            {
              '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
              reason: 'RATE_LIMIT_EXCEEDED',
              domain: 'googleapis.com',
              metadata: {},
            },
          ],
        }),
        'CLOUD_THROTTLED',
        'RATE_LIMIT_EXCEEDED',
      ],
      [body(404, 'notFound'), 'CLOUD_NOT_FOUND', ''],
      [body(401, 'required', { status: 'UNAUTHENTICATED' }), 'CLOUD_UNAUTHORIZED', ''],
      [body(503, 'backendError'), 'CLOUD_UNAVAILABLE', ''],
      [body(400, 'invalid'), 'CLOUD_INVALID', ''],
    ];
    for (const [json, code, cloudCode] of cases) {
      const err = GoogleError.parseHttpError(json);
      const mapped = mapGcpError(err, 'op');
      expect(mapped.code, JSON.stringify(json)).toBe(code);
      if (cloudCode) expect(mapped.cloudCode).toBe(cloudCode);
      expect(mapped.cause).toBe(err);
    }
  });

  it('reads Retry-After in seconds, and as a date against the response Date header', () => {
    const withHeaders = (h: Record<string, string>) =>
      Object.assign(new Error(JSON.stringify(body(429, 'rateLimitExceeded'))), {
        code: 429,
        response: { status: 429, headers: new Headers(h) },
      });
    expect(mapGcpError(withHeaders({ 'retry-after': '3' }), 'op').retryAfterMs).toBe(3000);
    expect(
      mapGcpError(
        withHeaders({ 'retry-after': 'Wed, 21 Oct 2026 07:28:05 GMT', date: 'Wed, 21 Oct 2026 07:28:00 GMT' }),
        'op',
      ).retryAfterMs,
    ).toBe(5000);
    expect(mapGcpError(withHeaders({}), 'op').retryAfterMs).toBeUndefined();
  });

  it('treats IP_SPACE_EXHAUSTED in a synchronous error as a full subnet', () => {
    const e = Object.assign(new Error(JSON.stringify(body(400, 'IP_SPACE_EXHAUSTED_WITH_DETAILS'))), { code: 400 });
    expect(mapGcpError(e, 'op')).toMatchObject({
      code: 'CLOUD_SUBNET_FULL',
      cloudCode: 'IP_SPACE_EXHAUSTED_WITH_DETAILS',
    });
  });

  it('turns a refused connection into a retryable CloudUnavailableError', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const err = await fetch(`http://127.0.0.1:${port}/`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(mapGcpError(err, 'op')).toMatchObject({
      code: 'CLOUD_UNAVAILABLE',
      cloudCode: 'ECONNREFUSED',
      retryable: true,
    });
  });
});

describe('operationError', () => {
  it('is undefined for a successful operation and typed for a failed one', () => {
    expect(operationError({ name: 'op-1', status: 'DONE' }, 'x')).toBeUndefined();
    const failed = (code: string, http = 400) =>
      operationError(
        { name: 'op-2', status: 'DONE', error: { errors: [{ code, message: 'boom' }] }, httpErrorStatusCode: http },
        'x',
      );
    expect(failed('IP_SPACE_EXHAUSTED')).toMatchObject({
      code: 'CLOUD_SUBNET_FULL',
      cloudCode: 'IP_SPACE_EXHAUSTED',
      retryable: false,
    });
    expect(failed('IP_SPACE_EXHAUSTED_WITH_DETAILS')).toMatchObject({ code: 'CLOUD_SUBNET_FULL' });
    expect(failed('QUOTA_EXCEEDED', 403)).toMatchObject({ code: 'CLOUD_IP_LIMIT' });
    expect(failed('RESOURCE_NOT_READY')).toMatchObject({ code: 'CLOUD_CONFLICT', retryable: true });
    expect(failed('INTERNAL_ERROR', 500)).toMatchObject({ code: 'CLOUD_UNAVAILABLE', retryable: true });
    expect(failed('INVALID_FIELD_VALUE')).toMatchObject({ code: 'CLOUD_INVALID' });
    expect(failed('IP_SPACE_EXHAUSTED')!.message).toMatch(/operation op-2 failed: boom/);
  });
});
