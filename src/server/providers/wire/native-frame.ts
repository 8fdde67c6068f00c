/** `{"response":"` */
const HEAD = '{"response":"'
/** `","p":"` */
const PADDING = '","p":"'

/**
 * The text of the commonest Workers AI frame, read without JSON.parse: exactly
 * `{"response":"…"}` or `{"response":"…","p":"…"}` (no whitespace, no other key), both strings
 * free of `"`, `\` and control characters. Anything else, escapes included, returns undefined and
 * the caller falls back to JSON.parse: where this answers, JSON.parse would give an object whose
 * only keys are `response` (this string) and maybe `p`, so the two agree by construction (pinned
 * by a fast-check property against JSON.parse).
 *
 * Hot path: one per token. JSON.parse builds an object and two strings per frame; on 200,000
 * emulator frames (in-process, medians of 6) it took ~60 ms, this scan ~27 ms; with the batches,
 * the provider alone went from ~295 to ~190 ms per 200,000 tokens (floor ~100 ms).
 */
export function nativeFrameText(data: string): string | undefined {
  if (!data.startsWith(HEAD)) return undefined
  const end = stringEnd(data, HEAD.length)
  if (end < 0) return undefined
  const last = data.length - 1
  // `{"response":"…"}`
  if (end === last - 1)
    return data.charCodeAt(last) === 125 /* } */ ? data.slice(HEAD.length, end) : undefined
  // `{"response":"…","p":"…"}`
  if (!data.startsWith(PADDING, end)) return undefined
  const padEnd = stringEnd(data, end + PADDING.length)
  if (padEnd !== last - 1 || data.charCodeAt(last) !== 125) return undefined
  return data.slice(HEAD.length, end)
}

/** Index of the `"` closing a JSON string body that starts at `from`; -1 at `\`, a control character or the end. */
function stringEnd(data: string, from: number): number {
  for (let i = from; i < data.length; i++) {
    const c = data.charCodeAt(i)
    if (c === 34 /* " */) return i
    if (c === 92 /* \ */ || c < 32) return -1
  }
  return -1
}
