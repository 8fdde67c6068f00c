import type { CachedAnswer } from '../cache/response-cache'

const encoder = new TextEncoder()

/** The answer as JSON, or `undefined` when its UTF-8 bytes exceed `maxBytes` (not stored). */
export function answerJson(answer: CachedAnswer, maxBytes: number): string | undefined {
  const json = JSON.stringify(answer)
  // UTF-8 is at most 3 bytes per UTF-16 unit: skip the encode when the bound clearly holds.
  if (json.length * 3 > maxBytes && encoder.encode(json).length > maxBytes) return undefined
  return json
}

/** A JSON string that at least looks like an answer (anything else, another version's too, is a miss). */
export function parseAnswer(raw: unknown): CachedAnswer | undefined {
  if (typeof raw !== 'string') return undefined
  try {
    const value = JSON.parse(raw) as Partial<CachedAnswer> | null
    if (value && typeof value.text === 'string' && typeof value.model === 'string') {
      return value as CachedAnswer
    }
  } catch {}
  return undefined
}
