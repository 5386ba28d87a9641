/**
 * @module clock
 * The one place that touches wall time. Everything that needs time takes a
 * {@link Clock}, so the same engine runs in the daemon (SystemClock), in unit
 * tests and in the simulator (VirtualClock, which jumps from timer to timer).
 */

import type { Clock } from '../../providers/clock.js';

export type { Clock };

function abortError(signal: AbortSignal): Error {
  const reason = signal.reason;
  return reason instanceof Error ? reason : Object.assign(new Error('aborted'), { name: 'AbortError' });
}

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortError(signal!));
      };
      const timer = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

interface Timer {
  at: number;
  seq: number;
  resolve: () => void;
}

/**
 * A discrete-event clock. `sleep` only registers a timer; `runUntil` fires the
 * timers in time order, letting every promise chain settle between two timers.
 * Code under a VirtualClock must not wait on real I/O, or it would run "late".
 */
export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(startMs = 0) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, resolve: () => {} };
      const onAbort = () => {
        this.timers = this.timers.filter((x) => x !== timer);
        reject(abortError(signal!));
      };
      timer.resolve = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.insert(timer);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Number of timers still waiting. */
  pending(): number {
    return this.timers.length;
  }

  /** Time of the next timer, or undefined when none is waiting. */
  nextAt(): number | undefined {
    return this.timers[0]?.at;
  }

  /** Fires every timer due at or before `untilMs`, in order, then sets now to `untilMs`. */
  async runUntil(untilMs: number): Promise<void> {
    for (;;) {
      await settle();
      const next = this.timers[0];
      if (!next || next.at > untilMs) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.resolve();
    }
    this.t = Math.max(this.t, untilMs);
    await settle();
  }

  /** Advances virtual time by `ms`. */
  advance(ms: number): Promise<void> {
    return this.runUntil(this.t + ms);
  }

  private insert(timer: Timer): void {
    // Binary search keeps timers sorted by (at, seq); ties fire in creation order.
    let lo = 0;
    let hi = this.timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.timers[mid]!;
      if (m.at < timer.at || (m.at === timer.at && m.seq < timer.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.timers.splice(lo, 0, timer);
  }
}

/** Lets every queued microtask (and promise chain built from them) run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
