// The Workers AI emulator: a Fetch handler speaking the Workers AI REST API (wire-formats §1), with
// scripted replies, pacing, queued faults and request recording. It never pretends to be a model.

import { emulatorBinding } from './emulator-binding'
import {
  AUTH_ERROR,
  defaultErrorFor,
  errorEnvelope,
  jsonResponse,
  methodNotAllowed,
  noRoute,
  successEnvelope,
} from './emulator-envelope'
import type { MidStreamFault, ResolvedClock } from './emulator-exchange'
import { Exchange } from './emulator-exchange'
import type { FrameContext } from './emulator-frames'
import {
  chatCompletion,
  nativeFrames,
  nativeResult,
  openaiFrames,
  randomPadding,
} from './emulator-frames'
import { listenEmulator, type NodeTransport } from './emulator-listen'
import { EmulatorPrefixCache, promptTokens } from './emulator-prefix-cache'
import { planReply } from './emulator-reply'
import { matchRoute, parseBody, validateChatBody } from './emulator-request'
import type {
  EmulatorFault,
  EmulatorListenOptions,
  EmulatorServer,
  RecordedRequest,
  WorkersAIEmulator,
  WorkersAIEmulatorOptions,
} from './emulator-types'

export const DEFAULT_EMULATOR_MODELS: readonly string[] = [
  '@cf/meta/llama-3.1-8b-instruct',
  '@cf/meta/llama-3.3-70b-instruct-fp8-fast',
  '@cf/mistral/mistral-7b-instruct-v0.1',
  '@cf/openai/gpt-oss-20b',
  '@cf/qwen/qwen3-30b-a3b-fp8',
]

export const EMULATOR_BASE_URL = 'http://workers-ai.emulator/client/v4'

/** Models typed as Chat Completions stream OpenAI chunks even on `/ai/run` (wire-formats §1.4). */
export function isChatCompletionsModel(model: string): boolean {
  return /gpt-oss|qwen3|qwq|kimi|glm|nemotron|gemma-4|deepseek-r1/i.test(model)
}

type Transport = { kind: 'fetch' } | NodeTransport

const FETCH: Transport = { kind: 'fetch' }

function resolveClock(options: WorkersAIEmulatorOptions): ResolvedClock {
  const clock = options.clock
  // Globals are looked up at call time so fake timers installed after creation still apply.
  return {
    setTimeout: (callback, ms) =>
      clock ? clock.setTimeout(callback, ms) : globalThis.setTimeout(callback, ms),
    clearTimeout: (handle) =>
      clock
        ? clock.clearTimeout(handle as never)
        : globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
    now: () => clock?.now?.() ?? Date.now(),
  }
}

function headerRecord(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {}
  headers.forEach((value, key) => {
    out[key] = value
  })
  return out
}

function fetchFailed(): TypeError {
  const cause = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
  return new TypeError('fetch failed', { cause })
}

export function createWorkersAIEmulator(options: WorkersAIEmulatorOptions = {}): WorkersAIEmulator {
  const accountId = options.accountId ?? 'emulator-account'
  const apiToken = options.apiToken ?? 'emulator-token'
  const models = new Set(options.models ?? DEFAULT_EMULATOR_MODELS)
  const clock = resolveClock(options)
  const padding = options.padding ?? randomPadding
  const pacing = {
    firstTokenDelayMs: options.firstTokenDelayMs ?? 0,
    tokenDelayMs: options.tokenDelayMs ?? 0,
  }
  const prefixCache =
    options.prefixCache === false ? null : new EmulatorPrefixCache(options.prefixCache)
  const requests: RecordedRequest[] = []
  const faults: EmulatorFault[] = []
  const inFlight = new Set<Exchange>()
  const streams = new WeakMap<Response, Exchange>()
  let nextId = 1

  /** Resolves to null when nothing must be written (reset socket, or client gone while stalled). */
  async function handle(request: Request, transport: Transport): Promise<Response | null> {
    const url = new URL(request.url)
    const matched = matchRoute(url.pathname)
    const record: RecordedRequest = {
      id: nextId++,
      method: request.method,
      path: url.pathname,
      route: matched.route,
      model: matched.route === 'run' ? matched.model : null,
      gateway: matched.route === 'unknown' ? null : matched.gateway,
      body: null,
      headers: headerRecord(request.headers),
      stream: false,
      status: 0,
      aborted: false,
      completed: false,
      cachedTokens: 0,
      instance: null,
      tokensSent: 0,
      fault: faults.shift() ?? null,
    }
    requests.push(record)
    const exchange = new Exchange(record, request.signal, clock)
    inFlight.add(exchange)
    void exchange.settled.then(() => inFlight.delete(exchange))

    const gone = (): null => {
      if (transport.kind === 'node') return null
      throw request.signal.reason
    }
    if (request.signal.aborted) {
      exchange.abort(request.signal.reason)
      return gone()
    }

    let text: string
    try {
      text = request.method === 'GET' || request.method === 'HEAD' ? '' : await request.text()
    } catch (error) {
      exchange.abort(error)
      return gone()
    }
    const parsed = parseBody(text)
    const body = parsed.ok ? parsed.value : parsed.raw
    record.body = body
    if (typeof body === 'object' && body !== null) {
      const fields = body as Record<string, unknown>
      record.stream = fields.stream === true
      if (matched.route === 'chat-completions' && typeof fields.model === 'string') {
        record.model = fields.model
      }
    }

    const fault = record.fault
    if (fault?.type === 'reset') {
      exchange.finish('cut')
      if (transport.kind === 'node') {
        transport.reset()
        return null
      }
      throw fetchFailed()
    }
    if (fault?.type === 'stall' && !(await exchange.sleep(fault.ms))) return gone()
    if (fault?.type === 'status') {
      const fallback = defaultErrorFor(fault.status)
      const headers: Record<string, string> =
        fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {}
      const error = {
        code: fault.code ?? fallback.code,
        message: fault.message ?? fallback.message,
      }
      return exchange.respond(errorEnvelope(fault.status, error, headers))
    }

    if (matched.route === 'unknown') return exchange.respond(noRoute(url.pathname, false))
    if (request.method !== 'POST') return exchange.respond(methodNotAllowed(request.method))
    const auth = request.headers.get('authorization') ?? ''
    if (!/^bearer /i.test(auth) || auth.slice(7) !== apiToken) {
      return exchange.respond(errorEnvelope(401, AUTH_ERROR))
    }
    if (matched.account !== accountId) return exchange.respond(noRoute(url.pathname, true))

    const input = validateChatBody(
      matched.route,
      matched.route === 'run' ? matched.model : null,
      parsed,
      models,
    )
    if (input instanceof Response) return exchange.respond(input)

    const openai =
      input.route === 'chat-completions' ||
      (options.streamShape ?? (isChatCompletionsModel(input.model) ? 'openai' : 'native')) ===
        'openai'
    let plan: ReturnType<typeof planReply>
    try {
      plan = planReply(input, options, openai)
    } catch (error) {
      // A throwing `reply`/`reasoning` callback is the test's bug: say so instead of hanging.
      const message = `Emulator reply callback threw: ${error instanceof Error ? error.message : String(error)}`
      return exchange.respond(errorEnvelope(500, { code: 3043, message }))
    }
    if (prefixCache) {
      const affinity = request.headers.get('x-session-affinity')
      record.instance = prefixCache.route(affinity)
      plan.cachedTokens = prefixCache.take(affinity, record.instance, promptTokens(input.messages))
      record.cachedTokens = plan.cachedTokens
    }
    const ctx: FrameContext = {
      plan,
      model: input.model,
      id: `chatcmpl-${crypto.randomUUID().replaceAll('-', '')}`,
      created: Math.floor(clock.now() / 1000),
      padding,
      route: input.route,
      includeUsage: input.includeUsage,
    }
    const requestId = crypto.randomUUID()

    if (!input.stream || fault?.type === 'json-for-stream') {
      // A complete answer takes as long as generating it would.
      const ms = pacing.firstTokenDelayMs + pacing.tokenDelayMs * plan.completionTokens
      if (ms > 0 && !(await exchange.sleep(ms))) return gone()
      record.tokensSent = plan.completionTokens
      const headers = { 'cf-ai-req-id': requestId }
      if (input.route === 'chat-completions') {
        return exchange.respond(jsonResponse(chatCompletion(ctx), 200, headers))
      }
      const result = openai ? chatCompletion(ctx) : nativeResult(plan)
      return exchange.respond(successEnvelope(result, headers))
    }

    const midFault =
      fault && ['drop', 'stall-mid-stream', 'malformed', 'error-frame'].includes(fault.type)
        ? (fault as MidStreamFault)
        : null
    const frames = openai ? openaiFrames(ctx) : nativeFrames(ctx)
    record.status = 200
    const response = new Response(exchange.stream(frames, midFault, pacing), {
      status: 200,
      headers: {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        'cf-ai-req-id': requestId,
      },
    })
    streams.set(response, exchange)
    return response
  }

  const fetchHandler = async (request: Request): Promise<Response> =>
    (await handle(request, FETCH)) as Response

  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init)
    // Like fetch: an already-aborted signal rejects before anything reaches the server.
    if (request.signal.aborted) throw request.signal.reason
    return fetchHandler(request)
  }) as typeof fetch

  const binding = emulatorBinding({
    fetch: (request) => fetchImpl(request),
    baseURL: EMULATOR_BASE_URL,
    accountId,
    apiToken,
  })

  return {
    fetch: fetchHandler,
    fetchImpl,
    baseURL: EMULATOR_BASE_URL,
    accountId,
    apiToken,
    listen: (listenOptions?: EmulatorListenOptions): Promise<EmulatorServer> =>
      listenEmulator(handle, (response) => streams.get(response)?.cut ?? false, listenOptions),
    get requests() {
      return requests
    },
    binding,
    fault(fault) {
      faults.push(...(Array.isArray(fault) ? fault : [fault]))
    },
    reset() {
      requests.length = 0
      faults.length = 0
      prefixCache?.clear()
    },
    async idle() {
      while (inFlight.size > 0) await Promise.all([...inFlight].map((e) => e.settled))
    },
  }
}
