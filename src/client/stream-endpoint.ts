// The resume side of the server contract: where a known stream is read again and where it is stopped.

/**
 * Response header naming a resumable stream (`X-CopilotEdge-Stream-Id`); its value goes into
 * `?stream=`. Lower case: header names are case-insensitive, and the bundle test keeps the product's
 * server class name out of browser code.
 */
export const STREAM_ID_HEADER = 'x-copilotedge-stream-id'

/** `api` with `stream=<streamId>` added to its query (works for relative URLs too: no base needed). */
export function streamUrl(api: string | URL, streamId: string): string {
  const text = String(api)
  const hash = text.indexOf('#')
  const base = hash === -1 ? text : text.slice(0, hash)
  const separator = base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?'
  return `${base}${separator}stream=${encodeURIComponent(streamId)}`
}

/**
 * Tells the server to stop generating (`DELETE ?stream=`). Fire and forget: `keepalive` lets it
 * outlive the page (a stop on unload still arrives), and a failure is nobody's business but the
 * server's grace period.
 */
export function sendStop(
  fetchImpl: typeof fetch,
  api: string | URL,
  streamId: string,
  headers: HeadersInit | undefined,
): void {
  const stopHeaders = new Headers(headers)
  stopHeaders.delete('content-type')
  try {
    fetchImpl(streamUrl(api, streamId), {
      method: 'DELETE',
      headers: stopHeaders,
      keepalive: true,
    }).then((response) => response.body?.cancel().catch(noop), noop)
  } catch {
    // A fetch that throws synchronously: nothing more to do than for one that rejects.
  }
}

function noop(): void {}
