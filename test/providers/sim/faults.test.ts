import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../ipamd/util/clock.js';
import { CloudError, ConflictError, ThrottledError } from '../../../providers/errors.js';
import { FaultInjector, TokenBucket } from '../../../providers/sim/faults.js';

/** Calls `check` n times and reports how many were throttled. */
function burst(f: FaultInjector, action: string, n: number): { ok: number; throttled: number } {
  let ok = 0;
  let throttled = 0;
  for (let i = 0; i < n; i++) {
    try {
      f.check(action);
      ok++;
    } catch (err) {
      expect(err).toBeInstanceOf(ThrottledError);
      throttled++;
    }
  }
  return { ok, throttled };
}

describe('token bucket on a VirtualClock', () => {
  it('30 calls against burst 10, rate 2/s: 10 pass, 20 throttled; refills with time', async () => {
    const clock = new VirtualClock();
    const f = new FaultInjector({ clock }).setRateLimit({ rate: 2, burst: 10 });
    expect(burst(f, 'DescribeNetworkInterfaces', 30)).toEqual({ ok: 10, throttled: 20 });
    await clock.advance(1000); // +2 tokens
    expect(burst(f, 'DescribeNetworkInterfaces', 5)).toEqual({ ok: 2, throttled: 3 });
    await clock.advance(499); // 0.998 tokens: not yet
    expect(burst(f, 'DescribeNetworkInterfaces', 1)).toEqual({ ok: 0, throttled: 1 });
    await clock.advance(1);
    expect(burst(f, 'DescribeNetworkInterfaces', 1)).toEqual({ ok: 1, throttled: 0 });
    await clock.advance(60_000); // refill stops at the burst size
    expect(burst(f, 'DescribeNetworkInterfaces', 30)).toEqual({ ok: 10, throttled: 20 });
    expect(f.throttled()).toEqual({ DescribeNetworkInterfaces: 44 });
  });

  it('throws a retryable ThrottledError with EC2 code RequestLimitExceeded', () => {
    const f = new FaultInjector({ clock: new VirtualClock() }).setRateLimit({ rate: 0, burst: 1 });
    f.check('CreateTags');
    let err: unknown;
    try {
      f.check('CreateTags');
    } catch (e) {
      err = e;
    }
    expect(CloudError.isCloud(err)).toBe(true);
    expect(err).toMatchObject({
      code: 'CLOUD_THROTTLED',
      cloudCode: 'RequestLimitExceeded',
      retryable: true,
      operation: 'CreateTags',
    });
  });

  it('per-action buckets are independent; a shared bucket is not', () => {
    const clock = new VirtualClock();
    const each = new FaultInjector({ clock }).setRateLimit({ rate: 1, burst: 3 }, { perAction: true });
    expect(burst(each, 'A', 5).ok).toBe(3);
    expect(burst(each, 'B', 5).ok).toBe(3);
    const shared = new FaultInjector({ clock }).setRateLimit({ rate: 1, burst: 3 });
    expect(burst(shared, 'A', 2).ok + burst(shared, 'B', 5).ok).toBe(3);
  });

  it('limits only the listed actions, and a rejected call takes no token from any rule', () => {
    const clock = new VirtualClock();
    const f = new FaultInjector({ clock })
      .setRateLimit({ rate: 0, burst: 2 }, { actions: ['AttachNetworkInterface', 'CreateNetworkInterface'] })
      .setRateLimit({ rate: 0, burst: 3 });
    expect(burst(f, 'DescribeSubnets', 1).ok).toBe(1); // global: 2 left
    // The mutating bucket is empty; the global one has 0 left.
    expect(burst(f, 'AttachNetworkInterface', 3)).toEqual({ ok: 2, throttled: 1 });
    expect(burst(f, 'DescribeSubnets', 1).ok).toBe(0);
  });

  it('handles fractional rates without float drift', async () => {
    const clock = new VirtualClock();
    const b = new TokenBucket(clock, { rate: 0.1, burst: 1 });
    expect(b.tryTake()).toBe(true);
    expect(b.msUntilToken()).toBe(10_000);
    for (let i = 0; i < 10; i++) await clock.advance(1000);
    expect(b.tryTake()).toBe(true);
  });

  it('rejects nonsense limits with a ConfigError', () => {
    expect(() => new FaultInjector({ clock: new VirtualClock() }).setRateLimit({ rate: 1, burst: 0 })).toThrow(/burst/);
  });
});

describe('failNext', () => {
  it('fails exactly the next N calls of one action, then lets them through', () => {
    const f = new FaultInjector({ clock: new VirtualClock() });
    f.failNext('AttachNetworkInterface', 2);
    expect(() => f.check('CreateNetworkInterface')).not.toThrow();
    expect(() => f.check('AttachNetworkInterface')).toThrow(
      expect.objectContaining({ code: 'CLOUD_UNAVAILABLE', cloudCode: 'InternalError' }),
    );
    expect(f.pending('AttachNetworkInterface')).toBe(1);
    expect(() => f.check('AttachNetworkInterface')).toThrow();
    expect(() => f.check('AttachNetworkInterface')).not.toThrow();
    expect(f.injected()).toEqual({ AttachNetworkInterface: 2 });
  });

  it('uses the factory, queues in order, and * matches any action after specific faults', () => {
    const f = new FaultInjector({ clock: new VirtualClock() });
    const conflict = (op: string) =>
      new ConflictError({ provider: 'sim', operation: op, cloudCode: 'IncorrectState', message: 'busy' });
    f.failNext('X', 1, conflict).failNext('X', 1).failNext('*', 1, conflict);
    expect(() => f.check('X')).toThrow(ConflictError);
    expect(() => f.check('X')).toThrow(expect.objectContaining({ cloudCode: 'InternalError' }));
    expect(() => f.check('Y')).toThrow(expect.objectContaining({ cloudCode: 'IncorrectState', operation: 'Y' }));
    expect(() => f.check('X')).not.toThrow();
  });

  it('injected faults come before the rate limit and take no token', () => {
    const f = new FaultInjector({ clock: new VirtualClock() }).setRateLimit({ rate: 0, burst: 1 });
    f.failNext('A', 1);
    expect(() => f.check('A')).toThrow(expect.objectContaining({ code: 'CLOUD_UNAVAILABLE' }));
    expect(() => f.check('A')).not.toThrow();
    expect(() => f.check('A')).toThrow(ThrottledError);
  });

  it('clear() drops faults and limits', () => {
    const f = new FaultInjector({ clock: new VirtualClock() }).setRateLimit({ rate: 0, burst: 1 }).failNext('A', 3);
    f.clear();
    expect(burst(f, 'A', 5).ok).toBe(5);
  });
});
