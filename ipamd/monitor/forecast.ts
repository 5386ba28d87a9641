/**
 * @module forecast
 * Consumption rate and time to exhaustion from recent history: an ordinary
 * least-squares line through the free-count samples of a sliding window.
 *
 * Least squares rather than "last minus first" because a subnet's free
 * count is noisy (warm pools grow and shrink in steps of a whole interface
 * or a /28), and one step at either end of the window would swing a
 * two-point slope. Pure: samples in, numbers out; the caller owns the clock.
 *
 * Definitions (docs/capacity.md):
 * - rate = −slope, in units per second; positive means the subnet is being consumed;
 * - eta = latest free / rate when rate > 0; +Infinity when the trend is flat or
 *   freeing; 0 when nothing is free; undefined when the window has too few samples.
 */

export interface Sample {
  /** Epoch ms. */
  t: number;
  free: number;
  /** Free aligned prefix blocks; undefined when the cloud gave no allocations. */
  freeBlocks?: number;
}

export interface Trend {
  /** Units consumed per second (positive = consuming, negative = freeing). */
  ratePerSecond: number;
  /** Seconds until the latest free count reaches 0 at that rate. */
  etaSeconds: number;
  /** Samples the fit used. */
  samples: number;
}

export interface ForecastOptions {
  /** Samples older than this (relative to the newest) are dropped. */
  windowMs: number;
  /** Fewer samples than this give no trend (default 3). */
  minSamples?: number;
  /** Hard cap on samples kept (default 1,000). */
  maxSamples?: number;
}

/** The samples of the last `windowMs` for one subnet, oldest first. */
export class SampleWindow {
  private items: Sample[] = [];
  constructor(private readonly o: ForecastOptions) {
    if (!(o.windowMs > 0)) throw new RangeError(`forecast window must be > 0 ms, got ${o.windowMs}`);
  }

  /** Adds a sample; a sample not newer than the last replaces it (clock steps, repeated passes). */
  add(s: Sample): void {
    const last = this.items[this.items.length - 1];
    if (last && s.t <= last.t) this.items[this.items.length - 1] = { ...s, t: last.t };
    else this.items.push({ ...s });
    const cutoff = s.t - this.o.windowMs;
    while (this.items.length > 0 && this.items[0]!.t < cutoff) this.items.shift();
    const max = this.o.maxSamples ?? 1000;
    if (this.items.length > max) this.items.splice(0, this.items.length - max);
  }

  samples(): readonly Sample[] {
    return this.items;
  }

  clear(): void {
    this.items = [];
  }

  /** Trend of free addresses. */
  addresses(): Trend | undefined {
    return trend(
      this.items.map((s) => ({ t: s.t, v: s.free })),
      this.o.minSamples ?? 3,
    );
  }

  /** Trend of free prefix blocks, over the samples that have a block count. */
  prefixBlocks(): Trend | undefined {
    const pts = this.items.filter((s) => s.freeBlocks !== undefined).map((s) => ({ t: s.t, v: s.freeBlocks! }));
    return trend(pts, this.o.minSamples ?? 3);
  }
}

/**
 * Least-squares trend of `points` (t in epoch ms). Times are taken relative
 * to the newest point and in seconds, so sums stay small and integral for
 * whole-second sampling: with evenly spaced samples the fit is exact in
 * floating point whenever the true answer is representable.
 */
export function trend(points: ReadonlyArray<{ t: number; v: number }>, minSamples = 3): Trend | undefined {
  const n = points.length;
  if (n < Math.max(2, minSamples)) return undefined;
  const t0 = points[n - 1]!.t;
  const xs = points.map((p) => (p.t - t0) / 1000);
  const ys = points.map((p) => p.v);
  const sx = xs.reduce((a, b) => a + b, 0);
  const sy = ys.reduce((a, b) => a + b, 0);
  // Centred sums, scaled by n to stay integral: n·Σ(x−x̄)(y−ȳ) = nΣxy − ΣxΣy.
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += xs[i]! * ys[i]!;
    sxx += xs[i]! * xs[i]!;
  }
  const num = n * sxy - sx * sy;
  const den = n * sxx - sx * sx;
  if (den === 0) return undefined; // all samples at one instant: no time axis
  const latest = ys[n - 1]!;
  // rate = −slope = −num/den; eta = latest/rate = latest·den/(−num): one division, exact for exact inputs.
  const ratePerSecond = num === 0 ? 0 : -num / den;
  let etaSeconds: number;
  if (latest <= 0) etaSeconds = 0;
  else if (num >= 0) etaSeconds = Infinity;
  else etaSeconds = (latest * den) / -num;
  return { ratePerSecond, etaSeconds, samples: n };
}
