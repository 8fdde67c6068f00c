import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { createServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { UpstreamEvent } from '../../../src/server/providers/provider'

const encoder = new TextEncoder()

export interface RecordedBody {
  stream: ReadableStream<Uint8Array>
  /** How many chunks the consumer has pulled so far. */
  readonly pulls: number
  /** Whether the consumer cancelled the body, and with what reason. */
  readonly cancelled: boolean
  readonly cancelReason: unknown
}

/**
 * A pull-based body that hands out `chunks` one per read (strings are UTF-8 encoded), recording
 * how many reads happened and whether it was cancelled. `error` makes the read after the last
 * chunk fail; `hang` makes it never resolve (until cancelled).
 */
export function recordedBody(
  chunks: ReadonlyArray<string | Uint8Array>,
  options: { error?: Error; hang?: boolean } = {},
): RecordedBody {
  let index = 0
  let pulls = 0
  let cancelled = false
  let cancelReason: unknown
  let release: (() => void) | undefined
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        pulls++
        const chunk = chunks[index++]
        if (chunk !== undefined) {
          controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk)
          return
        }
        if (options.error) {
          controller.error(options.error)
          return
        }
        if (options.hang) {
          await new Promise<void>((resolve) => {
            release = resolve
          })
          return
        }
        controller.close()
      },
      cancel(reason) {
        cancelled = true
        cancelReason = reason
        release?.()
      },
    },
    // highWaterMark 0: nothing is read ahead of the consumer, so `pulls` shows backpressure.
    { highWaterMark: 0 },
  )
  return {
    stream,
    get pulls() {
      return pulls
    },
    get cancelled() {
      return cancelled
    },
    get cancelReason() {
      return cancelReason
    },
  }
}

/** Splits `bytes` at the given offsets (sorted, deduplicated, clamped). */
export function splitBytes(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const cuts = [...new Set(offsets.map((o) => Math.max(0, Math.min(bytes.length, o))))].sort(
    (a, b) => a - b,
  )
  const parts: Uint8Array[] = []
  let start = 0
  for (const cut of cuts) {
    if (cut > start) parts.push(bytes.subarray(start, cut))
    start = cut
  }
  if (start < bytes.length) parts.push(bytes.subarray(start))
  return parts
}

export function sseResponse(
  chunks: ReadonlyArray<string | Uint8Array>,
  init: { status?: number; headers?: Record<string, string> } = {},
): Response {
  return new Response(recordedBody(chunks).stream, {
    status: init.status ?? 200,
    headers: { 'content-type': 'text/event-stream', ...init.headers },
  })
}

export function jsonResponse(
  body: unknown,
  init: { status?: number; headers?: Record<string, string> } = {},
): Response {
  return new Response(JSON.stringify(body), {
    status: init.status ?? 200,
    headers: { 'content-type': 'application/json', ...init.headers },
  })
}

export async function collect(events: AsyncIterable<UpstreamEvent>): Promise<UpstreamEvent[]> {
  const out: UpstreamEvent[] = []
  for await (const event of events) out.push(event)
  return out
}

/** The events yielded before the iteration failed, and the failure. */
export async function collectUntilError(
  events: AsyncIterable<UpstreamEvent>,
): Promise<{ events: UpstreamEvent[]; error: unknown }> {
  const out: UpstreamEvent[] = []
  try {
    for await (const event of events) out.push(event)
  } catch (error) {
    return { events: out, error }
  }
  return { events: out, error: undefined }
}

export interface RecordedCall {
  url: string
  method: string | undefined
  headers: Record<string, string>
  body: unknown
  signal: AbortSignal | undefined
}

/** A fetch that records each call (headers lower-cased, body parsed) and answers via `respond`. */
export function recordingFetch(respond: (call: RecordedCall) => Response | Promise<Response>): {
  fetch: (input: string, init: RequestInit) => Promise<Response>
  calls: RecordedCall[]
} {
  const calls: RecordedCall[] = []
  const fetch = async (input: string, init: RequestInit): Promise<Response> => {
    const call: RecordedCall = {
      url: input,
      method: init.method,
      headers: Object.fromEntries(new Headers(init.headers).entries()),
      body: typeof init.body === 'string' ? JSON.parse(init.body) : init.body,
      signal: init.signal ?? undefined,
    }
    calls.push(call)
    return respond(call)
  }
  return { fetch, calls }
}

export interface LoopbackUpstream {
  /** `http://127.0.0.1:<port>`, or `https://localhost:<port>` with TLS. */
  origin: string
  /** Connections accepted so far. */
  readonly connections: number
  /** Resolves when a request's connection closed before its answer ended. */
  closedEarly: Promise<void>
  /** Stops listening at once (a refused connection from then on). */
  close(): Promise<void>
}

const upstreams = new Set<Server>()

/**
 * A real node:http (or, with `tls`, node:https) server on 127.0.0.1 and a free port, answering with
 * `handle`. Close them all with `closeLoopbackUpstreams` in an afterEach.
 */
export async function loopbackUpstream(
  handle: (req: IncomingMessage, res: ServerResponse) => void,
  tls?: { key: string; cert: string },
): Promise<LoopbackUpstream> {
  let connections = 0
  let closedEarly!: () => void
  const closed = new Promise<void>((resolve) => {
    closedEarly = resolve
  })
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    res.on('close', () => {
      if (!res.writableEnded) closedEarly()
    })
    handle(req, res)
  }
  const server = tls ? createHttpsServer(tls, onRequest) : createServer(onRequest)
  server.on(tls ? 'secureConnection' : 'connection', () => connections++)
  upstreams.add(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    origin: tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`,
    get connections() {
      return connections
    },
    closedEarly: closed,
    close: () => closeServer(server),
  }
}

export async function closeLoopbackUpstreams(): Promise<void> {
  await Promise.all([...upstreams].map(closeServer))
}

function closeServer(server: Server): Promise<void> {
  upstreams.delete(server)
  server.closeAllConnections()
  return new Promise<void>((resolve) => server.close(() => resolve()))
}
