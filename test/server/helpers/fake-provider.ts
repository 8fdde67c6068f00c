import type {
  Provider,
  ProviderRequest,
  UpstreamEvent,
} from '../../../src/server/providers/provider'
import { UpstreamError } from '../../../src/server/providers/provider'
import type { Usage } from '../../../src/shared/chat-types'

/** A stream whose events the test pushes one by one. */
export class Channel {
  readonly #queue: Array<UpstreamEvent | Error | null> = []
  #wake: (() => void) | undefined

  push(...events: UpstreamEvent[]): void {
    this.#queue.push(...events)
    this.#wake?.()
  }
  fail(error: Error): void {
    this.#queue.push(error)
    this.#wake?.()
  }
  end(): void {
    this.#queue.push(null)
    this.#wake?.()
  }
  async take(signal: AbortSignal): Promise<UpstreamEvent | Error | null> {
    while (this.#queue.length === 0) {
      if (signal.aborted) throw signal.reason
      let onAbort = () => {}
      await new Promise<void>((resolve) => {
        this.#wake = resolve
        onAbort = () => resolve()
        signal.addEventListener('abort', onAbort, { once: true })
      })
      // One listener per wait, removed on wake: a long stream on one signal would otherwise pile
      // them up (MaxListenersExceededWarning: 11 abort listeners added to [AbortSignal]).
      signal.removeEventListener('abort', onAbort)
      this.#wake = undefined
    }
    return this.#queue.shift()!
  }
}

export type Reply =
  /** Yields these events, then ends (or throws `failWith`). */
  | { events: UpstreamEvent[]; failWith?: Error }
  /** stream() rejects with this error. */
  | { error: Error }
  /** Events pushed by the test. */
  | { channel: Channel }
  /** stream() never settles until aborted. */
  | { hang: true }

export interface Call {
  request: ProviderRequest
  /** Events the engine pulled from this call's iterator. */
  pulled: number
  /** True once the engine called return() on the iterator (or it ran to its end). */
  finished: boolean
  readonly aborted: boolean
}

export interface FakeProvider extends Provider {
  calls: Call[]
}

export function text(...parts: string[]): UpstreamEvent[] {
  return [
    ...parts.map((t) => ({ type: 'text' as const, text: t })),
    { type: 'finish', reason: 'stop' },
  ]
}

export function withUsage(events: UpstreamEvent[], usage: Usage): UpstreamEvent[] {
  const last = events[events.length - 1]!
  return [...events.slice(0, -1), { type: 'usage', usage }, last]
}

export function httpError(
  status: number,
  extra: { code?: string; retryAfterMs?: number } = {},
): UpstreamError {
  return new UpstreamError(`upstream said ${status}`, { kind: 'http', status, ...extra })
}

/** A scripted upstream: call n gets replies[n] (the last one repeats), or what `script` returns. */
export function fakeProvider(
  script: Reply[] | ((request: ProviderRequest, n: number) => Reply),
): FakeProvider {
  const calls: Call[] = []
  const pick = (request: ProviderRequest, n: number): Reply =>
    typeof script === 'function' ? script(request, n) : script[Math.min(n, script.length - 1)]!
  const provider: FakeProvider = {
    name: 'fake',
    calls,
    async stream(request) {
      const call: Call = {
        request,
        pulled: 0,
        finished: false,
        get aborted() {
          return request.signal.aborted
        },
      }
      calls.push(call)
      const reply = pick(request, calls.length - 1)
      if ('error' in reply) throw reply.error
      if ('hang' in reply) {
        return new Promise((_, reject) => {
          request.signal.addEventListener('abort', () => reject(request.signal.reason), {
            once: true,
          })
        })
      }
      async function* events(): AsyncGenerator<UpstreamEvent> {
        try {
          if ('channel' in reply) {
            for (;;) {
              const next = await reply.channel.take(request.signal)
              if (next === null) return
              if (next instanceof Error) throw next
              call.pulled++
              yield next
            }
          }
          const scripted = reply as Extract<Reply, { events: UpstreamEvent[] }>
          for (const event of scripted.events) {
            if (request.signal.aborted) throw request.signal.reason
            call.pulled++
            yield event
          }
          if (scripted.failWith) throw scripted.failWith
        } finally {
          call.finished = true
        }
      }
      return events()
    },
  }
  return provider
}
