const utf8 = new TextDecoder()

/**
 * A text kept as the UTF-8 bytes of its JSON string, built from the pieces an encoder has already
 * escaped into its own buffer: the Responses message text, which the closing events repeat whole.
 *
 * Hot path (one append per token): copying the few bytes just written costs less than keeping the
 * token strings, joining them and escaping and encoding the whole text again at the end.
 */
export class JsonTextBytes {
  #buf = new Uint8Array(256)
  #length = 1

  constructor() {
    this.#buf[0] = 34 // "
  }

  /** Appends `source[from, to)`: a JSON string's inside, escaped, without its quotes. */
  append(source: Uint8Array, from: number, to: number): void {
    const length = this.#length
    const needed = length + (to - from) + 1
    if (needed > this.#buf.length) {
      const grown = new Uint8Array(Math.max(needed, this.#buf.length * 2))
      grown.set(this.#buf.subarray(0, length))
      this.#buf = grown
    }
    const buf = this.#buf
    // A token is a few bytes: a loop beats creating a subarray view for `set`.
    if (to - from < 64)
      for (let i = from, at = length; i < to; i++, at++) buf[at] = source[i] as number
    else buf.set(source.subarray(from, to), length)
    this.#length = needed - 1
  }

  /**
   * The whole text as a JSON string (with its quotes), in UTF-8: a view of this buffer, valid until
   * the next `append` (the text is read once, when its item closes).
   */
  get json(): Uint8Array {
    this.#buf[this.#length] = 34 // "
    return this.#buf.subarray(0, this.#length + 1)
  }

  /** The text itself (the error path: a snapshot of an answer cut short). */
  get text(): string {
    return JSON.parse(utf8.decode(this.json)) as string
  }
}
