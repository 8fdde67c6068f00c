// Public types of the Workers AI emulator (`copilotedge/testing`).
import type { EmulatorPrefixCacheOptions } from './emulator-prefix-cache'

export type { EmulatorPrefixCacheOptions } from './emulator-prefix-cache'

/** Timers the emulator paces with; inject fake ones in tests. `now` (ms) stamps `created`. */
export interface EmulatorClock {
  setTimeout: (callback: () => void, ms: number) => unknown
  clearTimeout: (handle: never) => void
  now?: () => number
}

export type EmulatorStreamShape = 'native' | 'openai'

export interface EmulatorReplyInfo {
  model: string
  messages: unknown[]
  body: Record<string, unknown>
}

export interface WorkersAIEmulatorOptions {
  /** Default `'emulator-account'`. */
  accountId?: string
  /** Default `'emulator-token'`; a wrong or missing Bearer token gets 401 code 10000. */
  apiToken?: string
  /** Known model ids; any other gets 400 code 5007. Default: `DEFAULT_EMULATOR_MODELS`. */
  models?: string[]
  /** The answer text; default: a sentence saying it comes from the emulator, echoing the user. */
  reply?: string | ((info: EmulatorReplyInfo) => string)
  /** If set, the reply is exactly this many tokens (`tok0 `, `tok1 `, …), generated lazily. */
  tokens?: number
  /** Pause between tokens (default 0: as fast as the reader pulls). */
  tokenDelayMs?: number
  /** Pause before the first body byte of a stream (default 0). */
  firstTokenDelayMs?: number
  /**
   * Stream shape on `/ai/run`: default `'native'`, except chat-completions-typed models (gpt-oss,
   * qwen3, …) which use `'openai'`. `/ai/v1/chat/completions` always streams OpenAI chunks.
   */
  streamShape?: EmulatorStreamShape
  /** Defaults to the global timers, looked up at call time (so fake timers installed later work). */
  clock?: EmulatorClock
  /**
   * Reasoning text streamed as `delta.reasoning_content` before the answer (and returned as
   * `message.reasoning_content`) in OpenAI-shaped answers; native frames carry no reasoning.
   */
  reasoning?: string | ((info: EmulatorReplyInfo) => string)
  /** The `p` padding of native frames for token `index`; default random letters (as upstream). */
  padding?: (index: number) => string
  /**
   * Prefix caching as Workers AI does it: requests with the same `x-session-affinity` header (the
   * binding's `extraHeaders`) reuse the prompt prefix seen before, reported as
   * `usage.prompt_tokens_details.cached_tokens`. On by default; `false` turns it off.
   */
  prefixCache?: EmulatorPrefixCacheOptions | false
}

export type EmulatorRoute = 'run' | 'chat-completions' | 'unknown'

export interface RecordedRequest {
  /** 1, 2, 3, … in arrival order. */
  id: number
  method: string
  /** The URL path as received (not decoded). */
  path: string
  route: EmulatorRoute
  /** From the path (`/ai/run/{model}`) or the body (`/ai/v1/chat/completions`); null if none. */
  model: string | null
  /** The AI Gateway id when the request came by a gateway URL (`/v1/{account}/{gateway}/workers-ai/…`). */
  gateway: string | null
  /** Parsed JSON, or the raw text when it is not JSON. */
  body: unknown
  /** Lower-case names. */
  headers: Record<string, string>
  stream: boolean
  /** The response status; 0 while nothing was answered (stalled, reset). */
  status: number
  /** The client went away (abort, disconnect, body cancelled) before the reply finished. */
  aborted: boolean
  /** The emulator sent the whole reply it meant to send (faults that cut the body leave it false). */
  completed: boolean
  /** Prompt tokens served from the prefix cache (`usage.prompt_tokens_details.cached_tokens`). */
  cachedTokens: number
  /** The model instance the request reached (`prefixCache.instances`), else null. */
  instance: number | null
  /** Token frames (text tokens and tool-call fragments) handed to the transport so far. */
  tokensSent: number
  /** The fault this request took from the queue, if any. */
  fault: EmulatorFault | null
}

export type EmulatorFault =
  | { type: 'status'; status: number; code?: number; message?: string; retryAfter?: number }
  | { type: 'stall'; ms?: number }
  | { type: 'reset' }
  | { type: 'drop'; afterTokens: number }
  | { type: 'stall-mid-stream'; afterTokens: number; ms?: number }
  | { type: 'malformed'; afterTokens: number }
  | { type: 'json-for-stream' }
  | { type: 'error-frame'; afterTokens: number; code?: number; message?: string }

export interface EmulatorListenOptions {
  /** Default 0 (any free port). */
  port?: number
  /** Default `'127.0.0.1'`. */
  host?: string
}

export interface EmulatorServer {
  /** `http://127.0.0.1:PORT` */
  url: string
  /** `url + '/client/v4'` */
  baseURL: string
  /** Stops listening and destroys open connections (their requests are recorded aborted). */
  close(): Promise<void>
}

/** The part of `env.AI` the emulator stands in for. */
export interface EmulatorBinding {
  run(
    model: string,
    inputs: Record<string, unknown>,
    options?: {
      signal?: AbortSignal
      gateway?: { id: string }
      extraHeaders?: Record<string, string>
    },
  ): Promise<unknown>
}

export interface WorkersAIEmulator {
  /**
   * The Fetch handler. A `reset` fault rejects with `TypeError('fetch failed')`; a request aborted
   * before its answer rejects with the signal's reason; an abort mid-body errors the body with it.
   */
  fetch(request: Request, env?: unknown): Promise<Response>
  /**
   * A fetch-compatible function that routes to `fetch` in-process; honours `init.signal` like fetch
   * (an already-aborted signal rejects without reaching the emulator). A `drop` fault ends the body
   * early but cleanly here; over `listen()` the socket ends without the last chunk, so real fetch
   * errors with `TypeError('terminated')`.
   */
  fetchImpl: typeof fetch
  /** `'http://workers-ai.emulator/client/v4'`, for in-process use with `fetchImpl`. */
  baseURL: string
  accountId: string
  apiToken: string
  listen(options?: EmulatorListenOptions): Promise<EmulatorServer>
  /** Every request so far, live (records update as their responses progress). */
  readonly requests: RecordedRequest[]
  /** Queues faults: each subsequent request takes the next one, in order. */
  fault(fault: EmulatorFault | EmulatorFault[]): void
  /**
   * A stand-in for the Workers AI binding (`env.AI`) answered by this emulator in-process:
   * `run(model, inputs, { signal, gateway, extraHeaders })` resolves to a `ReadableStream` of the
   * SSE bytes for `stream: true`, else the bare `result`; a failure throws `Error("<code>: <message>")`.
   */
  readonly binding: EmulatorBinding
  /** Clears the recorded requests, the queued faults and the prefix cache. */
  reset(): void
  /**
   * Resolves when every recorded request has finished (completed, aborted, cut or failed), e.g.
   * before asserting `aborted` on a disconnect the server learns of asynchronously. A stream nobody
   * reads or cancels never finishes.
   */
  idle(): Promise<void>
}
