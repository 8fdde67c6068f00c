/** Pieces joined into one string at a time. */
const JOIN_EVERY = 256

/**
 * A text built from many small pieces (one per token), read once or rarely.
 *
 * Hot path: a rope (`text += piece`) or a list of 200k token strings keeps every piece alive into
 * the old generation, and the GC copying them cost more than all the other work per token. Pieces
 * are joined every JOIN_EVERY tokens instead, so they die young.
 */
export class TextPieces {
  #pieces: string[] = []
  #joined: string[] = []

  push(piece: string): void {
    this.#pieces.push(piece)
    if (this.#pieces.length === JOIN_EVERY) this.#flush()
  }

  get text(): string {
    if (this.#pieces.length > 0) this.#flush()
    if (this.#joined.length > 1) this.#joined = [this.#joined.join('')]
    return this.#joined[0] ?? ''
  }

  #flush(): void {
    this.#joined.push(this.#pieces.join(''))
    this.#pieces = []
  }
}
