import type * as Http from 'node:http'
import type * as Https from 'node:https'
import type {
  ChunkReader,
  Transport,
  UpstreamRequestInit,
  UpstreamResponse,
} from './upstream-transport'

export interface NodeHttpModules {
  http: typeof Http
  https: typeof Https
}

const DONE: ReadableStreamReadResult<Uint8Array> = Object.freeze({ done: true, value: undefined })

/** Statuses fetch follows (with `Location`); rare for an API: such a request is sent again by fetch. */
const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])

/**
 * Upstream requests through node:http(s) with a keep-alive pool (Node only; see defaultTransport
 * for why). Like undici's pool behind Node's fetch: an idle socket waits 4 s for the next request,
 * and every socket a burst opened may wait (Node's agents keep 256 by default); a socket in use
 * never times out here: the engine's idle timeout watches the answer.
 */
export function createNodeHttpTransport(
  { http, https }: NodeHttpModules,
  options: {
    /** Asked again for a request answered with a redirect: fetch follows redirects, node:http not. */
    follow: Transport
    /** More agent options (a test's own CA). */
    agent?: Https.AgentOptions
  },
): Transport {
  const { follow } = options
  const agentOptions = {
    keepAlive: true,
    scheduling: 'lifo' as const,
    timeout: 4_000,
    maxFreeSockets: Number.POSITIVE_INFINITY,
    ...options.agent,
  }
  const plain = new http.Agent(agentOptions)
  const secure = new https.Agent(agentOptions)
  return (url, init) =>
    new Promise<UpstreamResponse>((resolve, reject) => {
      const tls = url.startsWith('https:')
      const { signal } = init
      // An abort destroys the request (node:http's `signal`): before the answer, this rejects
      // with the signal's reason, as fetch does; after it, the body fails or is cancelled.
      const request = (tls ? https : http).request(url, {
        method: init.method,
        headers: headersOf(init),
        agent: tls ? secure : plain,
        signal,
      })
      request.on('error', (error) => reject(signal.aborted ? signal.reason : error))
      request.on('response', (message) => {
        if (message.headers.location !== undefined && REDIRECTS.has(message.statusCode ?? 0)) {
          message.resume()
          resolve(follow(url, init))
        } else {
          resolve(new NodeUpstreamResponse(message))
        }
      })
      request.end(init.body)
    })
}

/**
 * The request's headers with what Node's fetch adds by default and node:http does not. A header
 * given in another case still replaces its default: node:http names headers case-insensitively,
 * the last one winning.
 */
function headersOf(init: UpstreamRequestInit): Record<string, string> {
  const headers = Object.assign({ accept: '*/*', 'user-agent': 'node' }, init.headers)
  headers['content-length'] = String(Buffer.byteLength(init.body))
  return headers
}

/** An answer as the providers read a Fetch `Response`: status, headers, a body read in chunks. */
class NodeUpstreamResponse implements UpstreamResponse {
  readonly ok: boolean
  readonly status: number
  readonly statusText: string
  readonly headers: { get(name: string): string | null }
  readonly body: { getReader(): ChunkReader } | null
  readonly #reader: MessageReader

  constructor(message: Http.IncomingMessage) {
    this.status = message.statusCode ?? 0
    this.ok = this.status >= 200 && this.status < 300
    this.statusText = message.statusMessage ?? ''
    this.headers = {
      get(name) {
        const value = message.headers[name.toLowerCase()]
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value
      },
    }
    // At once, not on getReader(): its error listener must be there even if nobody reads (a
    // socket error on an unread body would otherwise end the process).
    const reader = new MessageReader(message)
    this.#reader = reader
    this.body = this.status === 204 || this.status === 304 ? null : { getReader: () => reader }
  }

  async text(): Promise<string> {
    const parts: Uint8Array[] = []
    for (;;) {
      const { done, value } = await this.#reader.read()
      if (done) break
      parts.push(value)
    }
    return Buffer.concat(parts).toString('utf8')
  }
}

/**
 * A web stream reader's contract over an IncomingMessage in paused mode: each read() takes what
 * has arrived (one network read, usually), or waits for the next 'readable'. Nothing is read from
 * the socket beyond the message's buffer until asked (backpressure).
 */
class MessageReader implements ChunkReader {
  readonly #message: Http.IncomingMessage
  #pending:
    | { resolve(result: ReadableStreamReadResult<Uint8Array>): void; reject(error: unknown): void }
    | undefined
  #ended = false
  #error: unknown

  constructor(message: Http.IncomingMessage) {
    this.#message = message
    message.on('readable', this.#onReadable)
    message.on('end', this.#onEnd)
    message.on('error', this.#onError)
    message.on('close', this.#onClose)
  }

  read(): Promise<ReadableStreamReadResult<Uint8Array>> {
    if (this.#error !== undefined) return Promise.reject(this.#error)
    if (this.#ended) return Promise.resolve(DONE)
    const chunk: Uint8Array | null = this.#message.read()
    if (chunk !== null) return Promise.resolve({ done: false, value: chunk })
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject }
    })
  }

  /** Ends a pending read with `done` and closes the connection (it is not reused). */
  cancel(): Promise<void> {
    if (!this.#ended && this.#error === undefined) {
      this.#ended = true
      this.#message.destroy()
      this.#settle(DONE)
    }
    return Promise.resolve()
  }

  readonly #onReadable = (): void => {
    if (this.#pending === undefined) return
    const chunk: Uint8Array | null = this.#message.read()
    // null at the end of the body: 'end' follows.
    if (chunk !== null) this.#settle({ done: false, value: chunk })
  }

  readonly #onEnd = (): void => {
    this.#ended = true
    this.#settle(DONE)
  }

  readonly #onError = (error: unknown): void => {
    if (this.#ended) return
    this.#error = error
    const pending = this.#pending
    this.#pending = undefined
    pending?.reject(error)
  }

  readonly #onClose = (): void => {
    if (!this.#ended && this.#error === undefined) {
      this.#onError(new Error('The upstream closed the connection before the end of its answer.'))
    }
  }

  #settle(result: ReadableStreamReadResult<Uint8Array>): void {
    const pending = this.#pending
    this.#pending = undefined
    pending?.resolve(result)
  }
}
