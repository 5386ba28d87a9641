/** Test helper: a small deterministic PRNG (LCG), so a failing interleaving or churn can be replayed. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}
