const NAME = '"content"'

/**
 * The text of an OpenAI content chunk read without JSON.parse, by its likeness to an earlier one.
 *
 * Within a stream, OpenAI-compatible servers send content chunks that differ only in the content
 * string (`{"id":…,"choices":[{"index":0,"delta":{"content":"…"},…}]}`). When JSON.parse read a
 * chunk whose only effect was one text event, that has no `\` anywhere (so every key is written
 * as it reads) and `"content"` only once (so that is `choices[0].delta`'s key), the bytes before
 * and after its content string are kept. A later chunk made of exactly those bytes around another
 * plain string (no `"`, `\` or control character) is the same JSON with another content string in
 * the same place: JSON.parse would give the same object with that content, hence one text event
 * and nothing else. Anything else (other bytes, usage that changes per chunk, an escape) goes to
 * JSON.parse.
 *
 * Hot path: one per token on OpenAI-shaped streams, where JSON.parse of the whole chunk is the
 * largest per-token cost of the provider: on 200,000 chunks from the emulator's
 * /ai/v1/chat/completions (in-process, median of 9) the provider alone took ~502 ms with
 * JSON.parse and ~443 ms with this (floor ~146 ms).
 */
export class ContentTemplate {
  #prefix: string | undefined
  #suffix = ''

  /** The content string of a chunk shaped as the learned one, else undefined. */
  match(data: string): string | undefined {
    const prefix = this.#prefix
    if (prefix === undefined || !data.startsWith(prefix)) return undefined
    const end = data.length - this.#suffix.length
    if (end < prefix.length || !data.endsWith(this.#suffix)) return undefined
    for (let i = prefix.length; i < end; i++) {
      const c = data.charCodeAt(i)
      if (c === 34 /* " */ || c === 92 /* \ */ || c < 32) return undefined
    }
    return data.slice(prefix.length, end)
  }

  /**
   * `data` was parsed, and its only effect was a text event of `content` (the caller checks: a
   * chunk whose `choices[0].delta.content` is that string, with no reasoning, tool call,
   * finish_reason or usage). Learns its shape when its content is written plainly.
   */
  learn(data: string, content: string): void {
    if (data.includes('\\')) return
    const at = data.indexOf(NAME)
    if (at < 0 || data.indexOf(NAME, at + 1) >= 0) return
    // `"content":"` then the content as is (no `\`, so its first `"` closes it).
    const start = at + NAME.length + 2
    const end = start + content.length
    if (data.charCodeAt(start - 2) !== 58 /* : */ || data.charCodeAt(start - 1) !== 34) return
    if (data.charCodeAt(end) !== 34 || !data.startsWith(content, start)) return
    for (let i = start; i < end; i++) {
      const c = data.charCodeAt(i)
      if (c === 34 || c < 32) return
    }
    this.#prefix = data.slice(0, start)
    this.#suffix = data.slice(end)
  }
}
