import type { ParsedRequest } from '../protocols/chat-completions/validate-request'

/**
 * The `x-session-affinity` value of a request: the same for every turn of one conversation, so
 * Workers AI routes them to the model instance that holds the conversation's prompt prefix (its
 * prefix cache). From the conversation id the client gave (`ParsedRequest.conversation`), else
 * from the conversation's opening, which every later turn repeats unchanged: the messages up to
 * and including the first user message (the system prompt and the first question).
 *
 * Hashed either way: neither the prompt nor the client's ids leave in a header. Why not SHA-256
 * (cache/sha256.ts): there a collision serves one caller another's answer; here it only sends two
 * conversations to the same model instance (harmless: conversations that open alike even share
 * that prefix), and 64 bits of a mixing hash say no more about the prompt than 128 bits of
 * SHA-256 would. SHA-256 (noble) of the whole opening cost 10-20 µs for a short id and 300-450 µs
 * for a 4 KB system prompt here (a loaded machine), on every request; this hashes at most 1 KB of
 * each message, several times faster per byte (bench suite prefix-cache has the figures).
 */
export function sessionAffinity(request: Pick<ParsedRequest, 'conversation' | 'messages'>): string {
  const hash = new Hash64()
  if (request.conversation !== undefined) {
    hash.add('conversation')
    hash.add(request.conversation)
    return hash.hex()
  }
  hash.add('opening')
  for (const message of request.messages) {
    hash.add(message.role)
    const { content } = message
    hash.add(typeof content === 'string' ? content : JSON.stringify(content))
    if (message.role === 'user') break
  }
  return hash.hex()
}

/** Code units hashed from each end of a long text. */
const EDGE = 512

/**
 * Two 32-bit multiply-xor lanes over UTF-16 code units, finished with an avalanche step (the
 * construction of cyrb53, kept at 64 bits). Each string is followed by its length, so
 * ['ab', 'c'] and ['a', 'bc'] differ.
 */
class Hash64 {
  #h1 = 0xdeadbeef
  #h2 = 0x41c6ce57

  add(text: string): void {
    const { length } = text
    if (length <= 2 * EDGE) this.#mix(text, 0, length)
    else {
      // A long text by its two ends and its length: the cost stays bounded (a 100 KB system
      // prompt costs what a 1 KB one does), and texts alike at both ends only share an instance.
      this.#mix(text, 0, EDGE)
      this.#mix(text, length - EDGE, length)
    }
    this.#h1 = Math.imul(this.#h1 ^ length, 2654435761)
    this.#h2 = Math.imul(this.#h2 ^ length, 1597334677)
  }

  #mix(text: string, from: number, to: number): void {
    let h1 = this.#h1
    let h2 = this.#h2
    for (let i = from; i < to; i++) {
      const code = text.charCodeAt(i)
      h1 = Math.imul(h1 ^ code, 2654435761)
      h2 = Math.imul(h2 ^ code, 1597334677)
    }
    this.#h1 = h1
    this.#h2 = h2
  }

  hex(): string {
    let h1 = this.#h1
    let h2 = this.#h2
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507)
    h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909)
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507)
    h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909)
    return (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0')
  }
}
