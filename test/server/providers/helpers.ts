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
