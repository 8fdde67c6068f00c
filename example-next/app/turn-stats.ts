/** What the page measured about one assistant answer. */
export interface TurnStats {
  /** The server answered from its cache (`X-Cache: HIT`). */
  cached?: boolean
  /** From pressing Send to the first content delta, ms. */
  ttftMs?: number
  /** From pressing Send to the end of the answer, ms. */
  totalMs?: number
  /** The model named in the stream's chunks. */
  model?: string
  /** How the answer ended. */
  outcome?: 'done' | 'aborted' | 'error'
}
