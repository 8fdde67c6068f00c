// Workers AI's prefix (prompt) caching, as the emulator models it (wire-formats §1.1, Cloudflare's
// "Prompt caching" page): requests carrying the same `x-session-affinity` reach the same model
// instance, which keeps the prefill of the prompts it has seen and reports the reused part as
// `usage.prompt_tokens_details.cached_tokens`. Reuse is counted in whole blocks (engines such as
// vLLM cache fixed-size blocks of tokens; the docs: "inputs need to be sufficiently large enough in
// order to be cached due to block size"), and the prompt's last token is always computed afresh.
// By default a cache per affinity value, and a request without the header counts as cold (it may
// land on any instance). With `instances`, a pool: a cache per instance, shared by every request
// routed there (the header's hash picks the instance; without it, a seeded random draw does).
import { messageText } from './emulator-reply'

export interface EmulatorPrefixCacheOptions {
  /** Tokens per cached block (default 16, vLLM's default). */
  blockTokens?: number
  /** Affinity values remembered, least recently used forgotten first (default 1,000). */
  maxSessions?: number
  /**
   * Model instances in the pool: each keeps its own cache, shared by every request routed to it;
   * a request with `x-session-affinity` goes to the instance its value hashes to, one without to
   * a random one. Default: none (a cache per affinity value; no header, no reuse).
   */
  instances?: number
  /** Seed of the random draw for requests without affinity (with `instances`). Default 1. */
  seed?: number
}

/** Blocks kept per cache; past it the cache starts over (a model instance evicting). */
const MAX_BLOCKS_PER_SESSION = 8192
const MAX_BLOCKS_PER_INSTANCE = 65_536

/**
 * The emulator's prompt tokens: the words of each message in order (the emulator's token unit, the
 * same count `usage.prompt_tokens` reports), the first word of each message tagged with its role so
 * that the same words in another turn layout are another prefix, as a chat template makes them.
 */
export function promptTokens(messages: readonly unknown[]): string[] {
  const tokens: string[] = []
  for (const message of messages) {
    const role = (message as { role?: unknown })?.role
    const words = messageText(message).split(/\s+/).filter(Boolean)
    for (let i = 0; i < words.length; i++) {
      tokens.push(i === 0 ? `${String(role)}\u0000${words[i]}` : (words[i] as string))
    }
  }
  return tokens
}

/**
 * Per cache (an affinity value's, or an instance's), the blocks of every prompt seen, each block named by its parent block and its
 * own tokens (a hash chain without the hash: exact, and one block's text per entry), so any
 * earlier prompt's prefix is found again, branches (a regenerated or edited turn) included.
 */
export class EmulatorPrefixCache {
  readonly #blockTokens: number
  readonly #maxSessions: number
  readonly #instances: number | undefined
  readonly #random: () => number
  readonly #sessions = new Map<string, Map<string, number>>()

  constructor(options: EmulatorPrefixCacheOptions = {}) {
    this.#blockTokens = Math.max(1, Math.floor(options.blockTokens ?? 16))
    this.#maxSessions = Math.max(1, Math.floor(options.maxSessions ?? 1000))
    this.#instances =
      options.instances === undefined ? undefined : Math.max(1, Math.floor(options.instances))
    this.#random = mulberry32(options.seed ?? 1)
  }

  /**
   * The model instance a request reaches: with `instances`, its affinity value's (a hash), else a
   * random one; without `instances`, none (null) for a request without affinity.
   */
  route(affinity: string | null): number | null {
    const instances = this.#instances
    const given = affinity !== null && affinity !== ''
    if (instances === undefined) return null
    if (!given) return Math.floor(this.#random() * instances)
    let hash = 0x811c9dc5
    for (let i = 0; i < affinity.length; i++)
      hash = Math.imul(hash ^ affinity.charCodeAt(i), 16777619)
    return (hash >>> 0) % instances
  }

  /**
   * The prompt tokens already cached where the request lands (its instance with `instances`, else
   * its affinity value's cache; none without either), then remembers the prompt's blocks there.
   */
  take(affinity: string | null, instance: number | null, tokens: readonly string[]): number {
    const name =
      instance !== null ? `instance:${instance}` : affinity ? `affinity:${affinity}` : null
    if (name === null) return 0
    let blocks = this.#sessions.get(name)
    if (blocks) this.#sessions.delete(name)
    else blocks = new Map()
    // Map order is the LRU order: the cache just used goes last.
    this.#sessions.set(name, blocks)
    if (this.#sessions.size > this.#maxSessions) {
      this.#sessions.delete(this.#sessions.keys().next().value as string)
    }
    if (blocks.size > (instance !== null ? MAX_BLOCKS_PER_INSTANCE : MAX_BLOCKS_PER_SESSION)) {
      blocks.clear()
    }

    const size = this.#blockTokens
    // Only blocks before the last token can be reused: it is prefilled to start the answer.
    const reusable = Math.floor(Math.max(0, tokens.length - 1) / size)
    let parent = 0
    let cached = 0
    let hit = true
    for (let b = 0; b * size + size <= tokens.length; b++) {
      const key = `${parent}\u0001${tokens.slice(b * size, b * size + size).join('\u0001')}`
      let id = hit ? blocks.get(key) : undefined
      if (id === undefined) {
        hit = false
        id = blocks.size + 1
        blocks.set(key, id)
      } else if (b < reusable) {
        cached += size
      }
      parent = id
    }
    return cached
  }

  clear(): void {
    this.#sessions.clear()
  }
}

/** Seeded PRNG (mulberry32): the same draws on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
