/**
 * @module emulator latency
 * A cloud call takes time: an emulator that answers at once hides the races a real node meets. The delay is
 * slept on the emulator's clock, so a test on a virtual clock decides when it is over instead of waiting.
 */
import type { Clock } from '../clock.js';

/** A documented per-action latency, scaled (0 turns it off); rounded to whole milliseconds. */
export function scaledLatencyMs(baseMs: number | undefined, scale: number | undefined): number {
  return Math.max(0, Math.round((baseMs ?? 0) * (scale ?? 0)));
}

/** Waits `ms` on `clock` before the request goes on; nothing at all (not even a tick) when it is 0. */
export async function injectLatency(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (ms > 0) await clock.sleep(ms, signal);
}
