import type { AnswerEngine } from '../engine/answer-engine'
import type { AnswerMeta } from '../engine/answer-event'
import type { ResumableLog } from '../engine/answer-log'
import type { AnswerSource } from '../engine/answer-run'
import { ClientAbort } from '../engine/upstream-session'
import { APIError, ValidationError } from '../errors'
import { completionId } from '../protocols/chat-completions/chat-completion'
import { detectProtocol } from '../protocols/detect-protocol'
import type { Decoded, Protocol, ProtocolName } from '../protocols/protocol'
import { PROTOCOLS } from '../protocols/registry'
import type { RequestTelemetry } from '../telemetry/request-telemetry'
import { tracedSource } from '../telemetry/traced-source'
import { AfterEventId } from './after-event-id'
import { withCompression } from './compress-sse'
import { errorResponse, jsonResponse, methodNotAllowed } from './http-response'
import { readJsonBody } from './read-body'
import { answerSseStream, sseHeaders } from './sse-response'

/**
 * Protocols whose streams can be resumed: Chat Completions by `Last-Event-ID` (our client, any
 * OpenAI-SSE consumer that sends it), the AI SDK's useChat by its chat id (its `resume: true`
 * reconnect replays the answer from the start). AG-UI and Responses have no resume in their
 * clients.
 */
const RESUMABLE: ReadonlySet<ProtocolName> = new Set(['chat-completions', 'ui-message-stream'])

/** The conversation a resumable answer is found again by (useChat's chat id), if any. */
function conversationOf(protocol: ProtocolName, decoded: Decoded): string | undefined {
  if (protocol !== 'ui-message-stream') return undefined
  const chatId = (decoded.context as { chatId?: string } | undefined)?.chatId
  return chatId === undefined ? undefined : `ui:${chatId}`
}

/** useChat's reconnect: `GET {api}/{chatId}/stream`. */
const UI_RESUME_PATH = /\/([^/]+)\/stream\/?$/

const NO_CACHE = /(?:^|,)\s*no-(?:cache|store)\s*(?:,|$)/i

const CLIENT_CLOSED = {
  error: {
    message: 'Client closed request.',
    type: 'invalid_request_error',
    code: 'client_closed_request',
    param: null,
  },
}

const INTERNAL = {
  error: { message: 'Internal error.', type: 'server_error', code: 'internal_error', param: null },
}

/** An error answered before any stream, in the protocol's shape, with its status and Retry-After. */
function protocolError(protocol: Protocol, error: ValidationError | APIError): Response {
  // No errorBody of the protocol's own: errorResponse's default, the OpenAI envelope.
  return errorResponse(
    error,
    error.status === 405 ? { Allow: 'POST' } : {},
    protocol.errorBody?.(error),
  )
}

/** The protocol a request speaks, when this handler accepts it; else a 400 saying what it speaks. */
function chooseProtocol(
  name: ProtocolName,
  accepted: ReadonlySet<ProtocolName> | undefined,
): Protocol {
  if (!accepted || accepted.has(name)) return PROTOCOLS[name]
  const speaks = (Object.keys(PROTOCOLS) as ProtocolName[]).filter((n) => accepted.has(n))
  throw new ValidationError(
    `This endpoint does not accept ${name} requests; it speaks: ${speaks.join(', ')} (config \`protocols\`).`,
    { code: 'unsupported_protocol' },
  )
}

/**
 * The HTTP front door, for every protocol: method → body → protocol → decode → cache → answer →
 * the protocol's JSON or SSE. Guards (rate limit, authorize, CORS) wrap it and run first.
 */
export function createHttpHandler(
  engine: AnswerEngine,
  accepted: ReadonlySet<ProtocolName> | undefined,
): (request: Request) => Promise<Response> {
  const { config, metrics, logger } = engine
  const { clock } = config
  const fallbackProtocol = PROTOCOLS['chat-completions']

  async function serve(httpRequest: Request): Promise<Response> {
    const started = clock.now()
    metrics.requests++
    if (httpRequest.method !== 'POST') {
      const resumed = engine.resume && (await resumeRequest(engine, httpRequest))
      if (resumed) return resumed
      metrics.errors++
      return methodNotAllowed(httpRequest.method, engine.resume ? 'POST, GET, DELETE' : 'POST')
    }
    // Aborted by the client's disconnect or by cancelling the response body.
    const abort = new AbortController()
    /** The SSE body, once returned: a client gone before anyone read it must still end it. */
    let body$: ReadableStream<Uint8Array> | undefined
    const onClientAbort = () => {
      abort.abort(new ClientAbort())
      // An adapter that locked the body cancels it when its socket closes; one that never read
      // it (its client left first) does not, and nothing else would end the answer.
      if (body$ && !body$.locked) body$.cancel().catch(() => {})
    }
    httpRequest.signal?.addEventListener('abort', onClientAbort, { once: true })
    const unlink = () => httpRequest.signal?.removeEventListener('abort', onClientAbort)
    let protocol = fallbackProtocol
    let live = false
    let trace: RequestTelemetry | undefined
    try {
      const body = await readJsonBody(httpRequest, config.limits.maxBodyBytes)
      protocol = chooseProtocol(detectProtocol(new URL(httpRequest.url).pathname, body), accepted)
      const decoded: Decoded = protocol.decode(body, config)
      const { request } = decoded
      const fresh =
        !request.cacheLookup || NO_CACHE.test(httpRequest.headers.get('cache-control') ?? '')
      const { key, hit } = await engine.lookup(request, fresh)
      const id = completionId()
      const created = Math.floor(started / 1000)
      const meta = (model: string): AnswerMeta => ({
        id,
        created,
        model,
        cached: hit !== undefined,
      })
      /** Adds the cache, model and latency headers to `into`. */
      const headers = (into: Record<string, string>, model?: string): Record<string, string> => {
        const latency = `${Math.round(clock.now() - started)}ms`
        if (config.debug) {
          logger.debug(
            `${protocol.name} ${request.stream ? 'stream' : 'json'} ${hit ? 'HIT' : 'MISS'} model=${model ?? request.model} first byte ${latency}`,
          )
        }
        into['X-Cache'] = hit ? 'HIT' : 'MISS'
        if (model) into['X-CopilotEdge-Model'] = model
        into['X-CopilotEdge-Latency'] = latency
        return into
      }
      const json = protocol.json
      const stream = request.stream || !json
      trace = engine.telemetry?.request({
        started,
        protocol: protocol.name,
        request,
        stream,
        id,
        cacheHit: key === undefined ? undefined : hit !== undefined,
      })

      if (!stream) {
        const answer = hit ?? (await engine.complete(request, key, fresh, abort.signal, trace))
        trace?.complete(answer)
        metrics.latency(clock.now() - started)
        return jsonResponse(
          json(answer, meta(answer.model), decoded),
          200,
          headers({}, answer.model),
        )
      }

      // Wait for the first upstream event so a failure before it gets a truthful status; past
      // heartbeatMs, start the 200 SSE response and keep the connection alive with pings instead.
      let ended = false
      const close = () => {
        if (ended) return
        ended = true
        if (!hit) metrics.activeStreams--
        unlink()
      }
      let run: AnswerSource | undefined
      let opening: Promise<AnswerSource> | undefined
      const responseHeaders = sseHeaders(protocol)
      if (hit) {
        // A replay needs no upstream: nothing to abort, nothing to count as an open stream.
        run = engine.replay(hit)
        close()
      } else if (engine.resume && RESUMABLE.has(protocol.name)) {
        // Resumable: the answer is kept and runs on its own; this response is its first reader,
        // and a disconnect only detaches it (the upstream runs on for the grace period).
        // Identical concurrent requests still share one upstream call (engine.stream), each with
        // a log and stream id of its own: one client's stop never ends another's answer.
        metrics.activeStreams++
        const started$ = engine.stream(request, key, fresh, undefined, trace)
        started$.catch(close)
        const {
          id: streamId,
          log,
          written,
        } = engine.resume.open(
          started$,
          request.model,
          { protocol: protocol.name, answerId: id, created, decoded },
          conversationOf(protocol.name, decoded),
          close,
        )
        const reader = log.reader(0)
        // Resumed by id (and Last-Event-ID) in Chat Completions; useChat finds it by its chat id,
        // and stops it by id (stopOnAbort).
        responseHeaders['X-CopilotEdge-Stream-Id'] = streamId
        // Announced only once it is shared: a resume on another instance a moment later finds it.
        opening = Promise.all([log.opened, written]).then(() => reader)
        opening.catch(() => reader.abort())
        run = (await firstByteOrHeartbeat(opening, engine)) && reader
      } else {
        metrics.activeStreams++
        opening = engine.stream(request, key, fresh, abort.signal, trace)
        opening.catch(close)
        run = await firstByteOrHeartbeat(opening, engine)
      }
      const source = run ?? (opening as Promise<AnswerSource>)
      body$ = answerSseStream({
        run: trace ? tracedSource(source, trace, 'client_disconnect') : source,
        model: request.model,
        encoder: (model) => protocol.encoder(meta(model), decoded),
        toError: (error) => {
          metrics.errors++
          return engine.toVisible(error, request.model) as APIError | ValidationError
        },
        heartbeatMs: config.heartbeatMs,
        clock,
        abort: () => abort.abort(new ClientAbort()),
        onEnd: close,
      })
      live = true
      metrics.latency(clock.now() - started)
      return new Response(body$, { headers: headers(responseHeaders, run?.model) })
    } catch (error) {
      metrics.errors++
      // The client is gone; nobody reads this answer.
      if (abort.signal.aborted) {
        trace?.cancel('client_disconnect')
        return jsonResponse(CLIENT_CLOSED, 499)
      }
      const visible = engine.toVisible(error)
      trace?.fail(visible, 'client_disconnect')
      if (visible instanceof ValidationError || visible instanceof APIError) {
        logger.debug(`answered ${visible.status}:`, visible.message)
        return protocolError(protocol, visible)
      }
      logger.error('unexpected failure:', visible)
      return jsonResponse(INTERNAL, 500)
    } finally {
      if (!live) unlink()
    }
  }
  return withCompression(serve, config.compression)
}

/**
 * Resolves to the run when it opens within heartbeatMs, else undefined (start pinging). Rejects
 * as the opening does, before then. One promise per stream start: no async function nor race.
 */
function firstByteOrHeartbeat(
  opening: Promise<AnswerSource>,
  engine: AnswerEngine,
): Promise<AnswerSource | undefined> {
  const { heartbeatMs, clock } = engine.config
  if (heartbeatMs <= 0) return opening
  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => resolve(undefined), heartbeatMs)
    opening.then(
      (run) => {
        clock.clearTimeout(timer)
        resolve(run)
      },
      (error: unknown) => {
        clock.clearTimeout(timer)
        reject(error)
      },
    )
  })
}

/**
 * `GET ?stream=<id>` (with `Last-Event-ID`) continues a kept answer after the client's last event;
 * `DELETE ?stream=<id>` stops it. Undefined for any other request (answered 405).
 */
async function resumeRequest(
  engine: AnswerEngine,
  httpRequest: Request,
): Promise<Response | undefined> {
  const registry = engine.resume
  const method = httpRequest.method
  if (!registry || (method !== 'GET' && method !== 'DELETE')) return undefined
  const url = new URL(httpRequest.url)
  const streamId = url.searchParams.get('stream')
  if (!streamId) {
    // useChat asks on every mount whether its chat has an answer running: 204 when it has none.
    const chatId = method === 'GET' ? UI_RESUME_PATH.exec(url.pathname)?.[1] : undefined
    if (chatId === undefined) return undefined
    const log = await registry.live(`ui:${decodeURIComponent(chatId)}`)
    return log ? replay(engine, log, undefined, 0) : new Response(null, { status: 204 })
  }
  // Here, or on another instance through config `streams`.
  if (method === 'DELETE' && (await registry.stop(streamId))) {
    return new Response(null, { status: 204 })
  }
  const found = method === 'DELETE' ? registry.get(streamId) : await registry.find(streamId)
  if (found === undefined || found === 'expired') {
    engine.metrics.errors++
    const expired = found === 'expired'
    return protocolError(
      PROTOCOLS['chat-completions'],
      new ValidationError(
        expired
          ? `The stream ${streamId} is no longer kept (it ended more than resume.ttlMs ago, or more than resume.maxStreams streams came after it); ask again.`
          : `No stream ${streamId} here: unknown on this instance${engine.config.streams ? ' and in the shared stream store' : ' (streams are kept in memory, per instance)'}.`,
        {
          status: expired ? 410 : 404,
          code: expired ? 'stream_expired' : 'stream_not_found',
          param: 'stream',
        },
      ),
    )
  }
  const lastEventId = Number(httpRequest.headers.get('last-event-id') ?? '0')
  return replay(
    engine,
    found,
    streamId,
    Number.isSafeInteger(lastEventId) && lastEventId > 0 ? lastEventId : 0,
  )
}

/**
 * A kept answer again, in its original protocol with the original encoder settings (the same
 * bytes and ids), live or finished, without the events up to `lastEventId`.
 */
function replay(
  engine: AnswerEngine,
  log: ResumableLog,
  streamId: string | undefined,
  lastEventId: number,
): Response {
  const { config } = engine
  const { protocol: name, answerId, created, decoded } = log.encoding
  const protocol = PROTOCOLS[name]
  const reader = log.reader(0)
  const body = answerSseStream({
    run: log.isOpen || log.state !== 'live' ? reader : log.opened.then(() => reader),
    model: log.model,
    encoder: (model) => {
      const encoder = protocol.encoder({ id: answerId, created, model, cached: false }, decoded)
      return lastEventId > 0 ? new AfterEventId(encoder, lastEventId) : encoder
    },
    toError: (error) => engine.toVisible(error, log.model) as APIError | ValidationError,
    heartbeatMs: config.heartbeatMs,
    clock: config.clock,
    abort: () => reader.abort(),
  })
  const headers = sseHeaders(protocol)
  if (streamId) headers['X-CopilotEdge-Stream-Id'] = streamId
  headers['X-Cache'] = 'MISS'
  return new Response(body, { headers })
}
