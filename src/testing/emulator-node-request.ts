// A Fetch `Request` from a node:http request, so `listen()` needs no adapter package: the
// emulator ships in `copilotedge/testing`, and a user's project should not have to install
// @hono/node-server just to call `emu.listen()`.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'

/** `Readable` is passed in (imported at `listen()` time) so the emulator module loads without node:stream. */
export type NodeStreams = { Readable: typeof Readable }

/**
 * The request's `signal` aborts when the connection closes before the response finished (the
 * client went away, or a fault destroyed the socket), as a Fetch server's would.
 */
export function requestFromNode(
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  fallbackHost: string,
  { Readable }: NodeStreams,
): Request {
  const controller = new AbortController()
  outgoing.once('close', () => {
    if (outgoing.writableFinished) return
    controller.abort(incoming.errored ?? new Error('client disconnected'))
  })

  const headers = new Headers()
  const raw = incoming.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    // HTTP/2 pseudo-headers (`:path`) are not header names Fetch accepts.
    const name = raw[i] as string
    if (name.charCodeAt(0) !== 58) headers.append(name, raw[i + 1] as string)
  }
  const host = incoming.headers.host ?? fallbackHost
  const method = incoming.method ?? 'GET'
  const hasBody = method !== 'GET' && method !== 'HEAD'
  return new Request(`http://${host}${incoming.url ?? '/'}`, {
    method,
    headers,
    signal: controller.signal,
    // Streamed, not buffered: the body is read only as fast as the handler reads it, and a client
    // that goes away mid-body errors the read (the emulator records the request as aborted).
    body: hasBody ? (Readable.toWeb(incoming) as ReadableStream<Uint8Array>) : null,
    // Required by Node's fetch for a stream body.
    duplex: 'half',
  } as RequestInit & { duplex: 'half' })
}
