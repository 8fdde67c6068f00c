/**
 * Parses a `Retry-After` header value, either delay-seconds or an HTTP-date, into milliseconds.
 * Returns `undefined` when the header is absent or unreadable; a date in the past gives 0.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value == null) return undefined
  const trimmed = value.trim()
  if (trimmed === '') return undefined
  // delay-seconds is an integer by RFC 9110; fractions are accepted because some servers send them.
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000)
  // HTTP-dates start with a day name; Date.parse alone would read '-5' as a year.
  if (!/^[A-Za-z]/.test(trimmed)) return undefined
  const date = Date.parse(trimmed)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - now)
}
