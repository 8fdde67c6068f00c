// Small statistics helpers: every figure the benchmarks report is a median (or a percentile) of
// several samples, because the machine is shared and noisy.

import { mulberry32, ORDER_SEED, shuffle } from './prng.mjs'

export function median(values) {
  return percentile(values, 50)
}

/** Nearest-rank percentile of `values` (p in 0..100); NaN for an empty list. */
export function percentile(values, p) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]
}

export function max(values) {
  let m = Number.NEGATIVE_INFINITY
  for (const v of values) if (v > m) m = v
  return m
}

export const MiB = 1024 * 1024

/**
 * Runs `fn` once per contender per round, in a new (seeded) random order each round, with a full
 * GC (when --expose-gc) before each sample so no one pays for the last one's garbage. `{ gc: false }`
 * leaves the GCs to V8: for throughput samples, where a forced full GC right before each one put
 * every sample in a state no serving process is in (see the proxy suite).
 *
 * Shuffled, not rotated: a rotation moves each contender through every position but always runs
 * it right after the same neighbour, and that neighbour counts. The same build measured twice in
 * one proxy run read 0.66 and 1.05 ms of added TTFT: the copy that always followed the other copy
 * found its code and caches warm, the one that always followed the floor did not.
 */
export async function interleave(contenders, rounds, fn, { gc = true } = {}) {
  const samples = new Map(contenders.map((c) => [c.name, []]))
  const random = mulberry32(ORDER_SEED)
  const order = [...contenders]
  for (let round = 0; round < rounds; round++) {
    for (const contender of shuffle(order, random)) {
      if (gc) globalThis.gc?.()
      samples.get(contender.name).push(await fn(contender, round))
    }
  }
  return samples
}

/** The median of one field over a list of sample objects. */
export function medianOf(samples, field) {
  return median(samples.map((s) => s[field]))
}

/**
 * The median of per-round ratios a[i] / b[i] (samples from `interleave`, same round = same
 * machine state): steadier on a noisy machine than the ratio of two medians.
 */
export function pairedRatio(a, b, value) {
  const n = Math.min(a.length, b.length)
  const ratios = []
  for (let i = 0; i < n; i++) ratios.push(value(a[i]) / value(b[i]))
  return median(ratios)
}
