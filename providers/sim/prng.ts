/**
 * @module prng
 * A tiny seeded PRNG (mulberry32) for the simulated cloud. Its whole state is
 * one 32-bit integer, so it is saved with the cloud and a restarted daemon
 * sees the same "random" address choices it would have seen without the
 * restart. Not for anything security-related.
 */

export class Prng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** The internal state, for serialisation; `new Prng(state)` resumes the sequence. */
  get state(): number {
    return this.s;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    // mulberry32 (Tommy Ettinger, public domain).
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}
