// Seeded PRNG (mulberry32) so every run splits the same bytes at the same places.

/** The seed of the benchmarks' turn orders (interleave, the concurrency and many-cores suites). */
export const ORDER_SEED = 0x5eed

export function mulberry32(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** An integer in [min, max], inclusive. */
export function randomInt(random, min, max) {
  return min + Math.floor(random() * (max - min + 1))
}

/** Shuffles `items` in place (Fisher–Yates) and returns it. */
export function shuffle(items, random) {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(random, 0, i)
    ;[items[i], items[j]] = [items[j], items[i]]
  }
  return items
}
