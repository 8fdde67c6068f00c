import { STREAM_ID_HEADER, sendStop } from './stream-endpoint'

/**
 * A `fetch` for clients that stop by aborting their request, such as the AI SDK's
 * `DefaultChatTransport` behind `useChat`. With the server's `resume` on, an aborted request only
 * detaches from its answer (the model runs on for the grace period, so a dropped connection can
 * resume); through this fetch, an abort after the server announced the stream also sends the stop
 * (`DELETE ?stream=`), so `stop()` stops the model at once, on whichever instance runs it.
 *
 * `useChat({ transport: new DefaultChatTransport({ api, fetch: stopOnAbort() }) })`
 */
export function stopOnAbort(fetchImpl?: typeof fetch): typeof fetch {
  // Resolved per call, not captured: a test or polyfill may replace globalThis.fetch later.
  const send: typeof fetch = fetchImpl ?? ((input, init) => globalThis.fetch(input, init))
  return async (input, init) => {
    const response = await send(input, init)
    const streamId = response.headers.get(STREAM_ID_HEADER)
    const request = input instanceof Request ? input : undefined
    const signal = init?.signal ?? request?.signal
    if (streamId && signal && !signal.aborted) {
      const api = request?.url ?? String(input)
      const headers = init?.headers ?? request?.headers
      signal.addEventListener('abort', () => sendStop(send, api, streamId, headers), {
        once: true,
      })
    }
    return response
  }
}
