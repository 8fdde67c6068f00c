const textEncoder = new TextEncoder()

/** Text as UTF-8 bytes, for the unchanging parts of an event that encoders compute once. */
export function utf8(text: string): Uint8Array {
  return textEncoder.encode(text)
}

/** The end of a `data: {…}` event whose last field is the delta. */
export const DATA_EVENT_END = utf8('}\n\n')

/**
 * Starting size: small, since a paced stream's chunk is one event of ~250 bytes and 1,000
 * concurrent streams each zero-filling 32 KiB up front cost ~32 MiB of RSS and GC pressure; but
 * room for a first event's worst case (`write` reserves 3 bytes per UTF-16 unit: ~700 for the
 * Chat Completions role chunk), so a stream's start allocates one buffer, not two. It doubles as
 * needed (an unpaced batch reaches its size in a few takes) and keeps that size...
 */
const INITIAL_BYTES = 1024
/** ...up to this much: a rare huge event's growth is not kept for the rest of the stream. */
const MAX_RESTING_BYTES = 128 * 1024
/** Byte arrays from this size on are kept aside as they are, not copied in (see writeLarge). */
const LARGE_BYTES = 64 * 1024

/**
 * The bytes of one downstream chunk, written event by event into one reused buffer. Every stream
 * encoder writes into one of these; the SSE body takes a chunk per pull.
 *
 * Hot path: building each event as a string, joining the batch and encoding it cost ~2x writing
 * the bytes directly (200,000 tokens, in-process: ~50 ms against ~21-37 ms, medians of 6).
 */
export class ByteBuffer {
  protected buf = new Uint8Array(INITIAL_BYTES)
  protected pos = 0
  /** What was written before a large byte array, and the arrays themselves, in order. */
  #parts: Uint8Array[] | undefined
  #partsLength = 0

  /** Bytes written since the last `take()`. */
  get size(): number {
    return this.pos + this.#partsLength
  }

  /** Any text, as UTF-8. */
  write(text: string): void {
    // Room for ASCII first (one byte per unit): reserving the worst case (3 bytes per unit) grew
    // a short answer's buffer past its first size for room it never used.
    this.reserve(text.length)
    const { read, written } = textEncoder.encodeInto(text, this.buf.subarray(this.pos))
    this.pos += written
    if (read === text.length) return
    // encodeInto stops before a character that does not fit (never inside a pair): the rest, with
    // room for its worst case (a UTF-16 unit is at most 3 bytes; a pair is 4 bytes for 2 units).
    const rest = text.slice(read)
    this.reserve(rest.length * 3)
    this.pos += textEncoder.encodeInto(rest, this.buf.subarray(this.pos)).written
  }

  /** Bytes as they are (a prefix or suffix an encoder computed once). */
  protected writeBytes(bytes: Uint8Array): void {
    this.reserve(bytes.length)
    this.buf.set(bytes, this.pos)
    this.pos += bytes.length
  }

  /**
   * Bytes as they are, not copied in when large (they must not change until `take()`): a long
   * Responses answer repeats its whole text in four closing events, and copying megabytes into a
   * doubling buffer cost more than joining the parts once in `take()`.
   */
  protected writeLarge(bytes: Uint8Array): void {
    if (bytes.length < LARGE_BYTES) {
      this.writeBytes(bytes)
      return
    }
    this.#parts ??= []
    if (this.pos > 0) {
      this.#parts.push(this.buf.slice(0, this.pos))
      this.#partsLength += this.pos
      this.pos = 0
    }
    this.#parts.push(bytes)
    this.#partsLength += bytes.length
  }

  /** A non-negative integer's decimal digits, without building a string (one per event). */
  protected writeInteger(value: number): void {
    this.reserve(16)
    const buf = this.buf
    let digits = 1
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++
    let pos = this.pos + digits
    this.pos = pos
    let rest = value
    do {
      buf[--pos] = 48 + (rest % 10)
      rest = Math.floor(rest / 10)
    } while (rest > 0)
  }

  /**
   * `JSON.stringify(text)` as UTF-8, written in place. Hot path (one per token): JSON.stringify
   * leaves a character as is unless it is `"`, `\`, below U+0020 or a lone surrogate; those (and
   * surrogate pairs) take the general path for the whole string, the rest is copied byte by byte.
   */
  protected writeJsonString(text: string): void {
    // A UTF-16 unit is at most 6 bytes in a JSON string (`\u001f`, an escaped lone surrogate).
    this.reserve(2 + text.length * 6)
    const buf = this.buf
    const quote = this.pos
    let pos = quote
    buf[pos++] = 34 // "
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (c < 0x80) {
        if (c < 32 || c === 34 || c === 92) {
          pos = -1
          break
        }
        buf[pos++] = c
      } else if (c < 0x800) {
        buf[pos++] = 0xc0 | (c >> 6)
        buf[pos++] = 0x80 | (c & 0x3f)
      } else if (c < 0xd800 || c > 0xdfff) {
        buf[pos++] = 0xe0 | (c >> 12)
        buf[pos++] = 0x80 | ((c >> 6) & 0x3f)
        buf[pos++] = 0x80 | (c & 0x3f)
      } else {
        pos = -1
        break
      }
    }
    if (pos < 0) {
      pos = quote + textEncoder.encodeInto(JSON.stringify(text), buf.subarray(quote)).written
    } else {
      buf[pos++] = 34 // "
    }
    this.pos = pos
  }

  /**
   * A delta event: `head`, `text` as a JSON string, `tail`. Hot path (one per token, every
   * protocol): the unchanging parts are bytes computed once and the text is written in place.
   * Building each event as a template string and encoding it held AG-UI at 0.91x the tokens/s of
   * Chat Completions (protocols benchmark); written this way, 1.03–1.09x.
   */
  protected writeDelta(head: Uint8Array, text: string, tail: Uint8Array): void {
    this.writeBytes(head)
    this.writeJsonString(text)
    this.writeBytes(tail)
  }

  /** The chunk written so far (the caller owns it); the buffer starts over. */
  take(): Uint8Array {
    const { buf, pos } = this
    this.pos = 0
    const parts = this.#parts
    if (parts) {
      const chunk = new Uint8Array(this.#partsLength + pos)
      let at = 0
      for (const part of parts) {
        chunk.set(part, at)
        at += part.length
      }
      chunk.set(buf.subarray(0, pos), at)
      this.#parts = undefined
      this.#partsLength = 0
      return chunk
    }
    // A buffer grown past its resting size is dropped anyway: hand it over, not a copy of it (a
    // long Responses answer's closing events are megabytes).
    if (buf.length > MAX_RESTING_BYTES) {
      this.buf = new Uint8Array(INITIAL_BYTES)
      return buf.subarray(0, pos)
    }
    return buf.slice(0, pos)
  }

  /** Room for `bytes` more. */
  protected reserve(bytes: number): void {
    const needed = this.pos + bytes
    if (needed <= this.buf.length) return
    const grown = new Uint8Array(Math.max(needed, this.buf.length * 2))
    grown.set(this.buf.subarray(0, this.pos))
    this.buf = grown
  }
}
