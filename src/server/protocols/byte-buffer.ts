import { ISOLATED_REQUESTS } from '../engine/isolated-requests'

const textEncoder = new TextEncoder()

/** Text as UTF-8 bytes, for the unchanging parts of an event that encoders compute once. */
export function utf8(text: string): Uint8Array {
  return textEncoder.encode(text)
}

/** The end of a `data: {…}` event whose last field is the delta. */
export const DATA_EVENT_END = utf8('}\n\n')

/**
 * The staging area's size: room for a pull's chunk (the SSE body's bound is 16 KiB, give or take
 * an event) without growing. One per process, not one per stream.
 */
const STAGING_BYTES = 32 * 1024
/** A staging area grown past this (a rare huge event) is not kept once its chunk is taken. */
const MAX_RESTING_BYTES = 128 * 1024
/** Byte arrays from this size on are kept aside as they are, not copied in (see writeLarge). */
const LARGE_BYTES = 64 * 1024

const EMPTY = new Uint8Array(0)

/**
 * Where every ByteBuffer writes, from 0 to its `pos`, while it is `stagingOwner`: events are
 * written and taken in one synchronous run (a pull), so one area serves every stream. Before it
 * was one per stream: 1,000 streams zero-filled 1 KiB each at their start, and kept up to 128 KiB
 * each once a batch had grown theirs; and each token was written into memory of its stream's own,
 * cold by the time that stream's next token came.
 */
let staging = new Uint8Array(STAGING_BYTES)
let stagingOwner: ByteBuffer | undefined

/**
 * A chunk's own memory, holding `bytes[0, size)`. Hot path (one per chunk sent: per token of a
 * paced stream). On Node a small chunk is carved from Node's Buffer pool, as Node does for its own
 * small buffers: a new ArrayBuffer of its own cost ~1.6 µs against ~0.35 µs (2 M chunks of 250
 * bytes), and in the concurrency benchmark's server (100 paced streams) ~3% of its CPU. Such a
 * chunk, like any small Buffer of Node's, cannot be transferred (a byte stream's `enqueue` throws).
 * Elsewhere (workerd, Deno, Bun) each chunk gets an ArrayBuffer of its own.
 */
const copyOf: (bytes: Uint8Array, size: number) => Uint8Array = pooledCopy() ?? sliceCopy

function sliceCopy(bytes: Uint8Array, size: number): Uint8Array {
  return bytes.slice(0, size)
}

function pooledCopy(): ((bytes: Uint8Array, size: number) => Uint8Array) | undefined {
  const scope = globalThis as {
    process?: { versions?: { node?: string; bun?: string; deno?: string } }
    Buffer?: { allocUnsafe?: (size: number) => Uint8Array }
  }
  const versions = scope.process?.versions
  if (!versions?.node || versions.bun || versions.deno || ISOLATED_REQUESTS) return undefined
  const Buffer = scope.Buffer
  const allocUnsafe = Buffer?.allocUnsafe?.bind(Buffer)
  if (!allocUnsafe) return undefined
  return (bytes, size) => {
    const pooled = allocUnsafe(size)
    // A plain Uint8Array over the pool's memory: a Buffer's `slice` is a view, not a copy.
    const chunk = new Uint8Array(pooled.buffer, pooled.byteOffset, size)
    chunk.set(bytes.subarray(0, size))
    return chunk
  }
}

/**
 * The bytes of one downstream chunk, written event by event into the staging area every stream
 * shares. Every stream encoder is one of these; the SSE body takes a chunk per pull.
 *
 * Hot path: building each event as a string, joining the batch and encoding it cost ~2x writing
 * the bytes directly (200,000 tokens, in-process: ~50 ms against ~21-37 ms, medians of 6).
 */
export class ByteBuffer {
  /**
   * This buffer's bytes not yet taken are `buf[0, pos)`: `buf` is the staging area while this
   * buffer owns it, else memory of its own (bytes written before an await, moved out when another
   * buffer wrote meanwhile) or nothing. Writers reach it through `reserve()`, which claims it.
   */
  protected buf: Uint8Array = EMPTY
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
    if (buf !== staging) {
      // Bytes moved out of the staging area (see #claim: exactly `pos` of them) are the chunk.
      this.buf = EMPTY
      return pos === 0 ? new Uint8Array(0) : buf
    }
    // A staging area grown past its resting size is dropped anyway: hand it over, not a copy of it
    // (a long Responses answer's closing events are megabytes).
    if (buf.length > MAX_RESTING_BYTES) {
      staging = new Uint8Array(STAGING_BYTES)
      this.buf = staging
      return buf.subarray(0, pos)
    }
    return copyOf(buf, pos)
  }

  /** Room for `bytes` more, in the staging area. Every write starts here. */
  protected reserve(bytes: number): void {
    if (stagingOwner !== this) this.#claim()
    const needed = this.pos + bytes
    if (needed <= this.buf.length) return
    const grown = new Uint8Array(Math.max(needed, this.buf.length * 2))
    grown.set(this.buf.subarray(0, this.pos))
    this.buf = staging = grown
  }

  /**
   * Makes the staging area this buffer's. The bytes its owner has not taken yet (written before
   * an await: an encoder's opening events, waiting for the first batch) move to memory of the
   * owner's own first, and this buffer's own such bytes, if any, move in.
   */
  #claim(): void {
    const owner = stagingOwner
    if (owner !== undefined) owner.buf = owner.pos > 0 ? staging.slice(0, owner.pos) : EMPTY
    const pending = this.buf
    if (this.pos > staging.length) staging = new Uint8Array(this.pos * 2)
    if (this.pos > 0) staging.set(pending.subarray(0, this.pos))
    this.buf = staging
    stagingOwner = this
  }
}
