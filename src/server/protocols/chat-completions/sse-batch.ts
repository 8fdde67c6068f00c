import { ByteBuffer, utf8 } from '../byte-buffer'
import type { SseEncoder } from './sse-encoder'
import { CONTENT_SUFFIX } from './sse-encoder'

/** The same for every stream: encoded once per process, not once per stream. */
const SUFFIX = utf8(CONTENT_SUFFIX)

/** Digits of the largest safe integer. */
const MAX_DIGITS = 16

/**
 * A `ByteBuffer` that also writes Chat Completions content events directly as bytes: the same
 * bytes as the UTF-8 of `SseEncoder.content()`.
 *
 * Hot path (one content event per token): a content event is the id's digits, the precomputed
 * prefix bytes, the text as a JSON string written in place, and the precomputed suffix.
 */
export class SseBatch extends ByteBuffer {
  readonly #encoder: SseEncoder
  readonly #prefix: Uint8Array
  // The last id's decimal digits, right-aligned in #digits from #digitsAt: the next id is almost
  // always the last one + 1, so its digits are counted up in place instead of divided out.
  readonly #digits = new Uint8Array(MAX_DIGITS)
  #digitsAt = MAX_DIGITS
  #lastId = -2

  constructor(encoder: SseEncoder) {
    super()
    this.#encoder = encoder
    this.#prefix = utf8(encoder.contentPrefix)
  }

  /** The same bytes as `encoder.content(text)` (and takes the next id the same way). */
  content(text: string): void {
    // `id: ` and the digits, then the prefix, the JSON string and the suffix.
    this.reserve(4 + MAX_DIGITS)
    const buf = this.buf
    let pos = this.pos
    buf[pos++] = 105 // i
    buf[pos++] = 100 // d
    buf[pos++] = 58 // :
    buf[pos++] = 32 // space
    const digits = this.#idDigits(this.#encoder.nextId())
    for (let i = this.#digitsAt; i < MAX_DIGITS; i++) buf[pos++] = digits[i] as number
    this.pos = pos
    this.writeDelta(this.#prefix, text, SUFFIX)
  }

  #idDigits(id: number): Uint8Array {
    const digits = this.#digits
    if (id === this.#lastId + 1) {
      let i = MAX_DIGITS - 1
      while (i >= this.#digitsAt && digits[i] === 57 /* 9 */) digits[i--] = 48 /* 0 */
      if (i >= this.#digitsAt) {
        digits[i] = (digits[i] as number) + 1
      } else {
        // 9…9 + 1: one more digit.
        this.#digitsAt = i
        digits[i] = 49 /* 1 */
      }
    } else {
      let at = MAX_DIGITS
      let rest = id
      do {
        digits[--at] = 48 + (rest % 10)
        rest = Math.floor(rest / 10)
      } while (rest > 0)
      this.#digitsAt = at
    }
    this.#lastId = id
    return digits
  }
}
