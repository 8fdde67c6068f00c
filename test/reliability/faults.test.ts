// Upstream faults over real loopback HTTP (the emulator listening as the upstream, the handler
// served by @hono/node-server). For each: what the client receives, how many upstream calls were
// made, that nothing failed or truncated was cached (the same request afterwards reaches the
// upstream again, and the one after that is a cache hit, so the check can fail), and that the
// process keeps serving.
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type CopilotEdgeConfig,
  createCopilotEdgeHandler,
  createOpenAICompatibleProvider,
} from '../../src/server'
import { createWorkersAIEmulator, type EmulatorFault, type EmulatorServer } from '../../src/testing'
import { serveHandler } from '../helpers/serve-handler'
import { readStream } from './sse'

const TEXT = 'tok0 tok1 tok2 tok3 tok4 tok5 '
const MODEL = '@cf/meta/llama-3.1-8b-instruct'
const silent = { debug() {}, warn() {}, error() {} }

interface Expected {
  /** HTTP status; 200 for a stream that started (then `inStream` says how it ended). */
  status: number
  /** OpenAI error `type`, before the stream or in it. */
  type?: string
  /** The error message must match (e.g. name the setting to check). */
  message?: RegExp
  retryAfter?: string | RegExp
  /** The stream started, then ended with an in-stream error event after this text, no [DONE]. */
  inStream?: { text: string }
  /** Upstream calls made for the faulted request. */
  calls: number
  /** Every upstream call was aborted by us (timeouts: nothing left running upstream). */
  upstreamAborted?: boolean
  /** The answer was complete: the next identical request is a cache hit. */
  cachedAfter?: boolean
}

interface FaultCase {
  name: string
  faults: EmulatorFault[]
  json?: Expected
  stream?: Expected
}

const thrice = (f: EmulatorFault) => [f, f, f]

const cases: FaultCase[] = [
  {
    name: 'upstream 429 with a Retry-After longer than maxRetryAfterMs',
    faults: [{ type: 'status', status: 429, code: 3040, retryAfter: 30 }],
    json: { status: 429, type: 'rate_limit_error', retryAfter: '30', calls: 1 },
    stream: { status: 429, type: 'rate_limit_error', retryAfter: '30', calls: 1 },
  },
  {
    name: 'upstream 429 with Retry-After: 1, then success',
    faults: [{ type: 'status', status: 429, code: 3040, retryAfter: 1 }],
    json: { status: 200, calls: 2, cachedAfter: true },
    stream: { status: 200, calls: 2, cachedAfter: true },
  },
  {
    name: 'upstream 429 on every attempt, no Retry-After',
    faults: thrice({ type: 'status', status: 429, code: 3040 }),
    json: { status: 429, type: 'rate_limit_error', retryAfter: /^[1-9]\d*$/, calls: 3 },
    stream: { status: 429, type: 'rate_limit_error', retryAfter: /^[1-9]\d*$/, calls: 3 },
  },
  ...[500, 502, 503].map(
    (status): FaultCase => ({
      name: `upstream ${status} on every attempt`,
      faults: thrice({ type: 'status', status }),
      json: { status: 502, type: 'upstream_error', message: new RegExp(`${status}`), calls: 3 },
      stream: { status: 502, type: 'upstream_error', message: new RegExp(`${status}`), calls: 3 },
    }),
  ),
  {
    name: 'upstream 503 once, then success',
    faults: [{ type: 'status', status: 503 }],
    json: { status: 200, calls: 2, cachedAfter: true },
    stream: { status: 200, calls: 2, cachedAfter: true },
  },
  {
    name: 'upstream 400 (the caller’s input, e.g. context too long)',
    faults: [{ type: 'status', status: 400, code: 5021, message: 'Context window exceeded.' }],
    json: { status: 400, type: 'invalid_request_error', message: /Context window/, calls: 1 },
    stream: { status: 400, type: 'invalid_request_error', message: /Context window/, calls: 1 },
  },
  {
    name: 'connection reset before the first byte, every attempt',
    faults: thrice({ type: 'reset' }),
    json: { status: 502, type: 'upstream_error', calls: 3 },
    stream: { status: 502, type: 'upstream_error', calls: 3 },
  },
  {
    name: 'connection reset once, then success',
    faults: [{ type: 'reset' }],
    json: { status: 200, calls: 2, cachedAfter: true },
    stream: { status: 200, calls: 2, cachedAfter: true },
  },
  {
    name: 'stall before the first byte (timeoutMs)',
    faults: [{ type: 'stall', ms: 10_000 }],
    json: { status: 504, type: 'timeout_error', calls: 1, upstreamAborted: true },
    stream: { status: 504, type: 'timeout_error', calls: 1, upstreamAborted: true },
  },
  {
    name: 'stall mid-stream (idleTimeoutMs)',
    faults: [{ type: 'stall-mid-stream', afterTokens: 2, ms: 10_000 }],
    json: { status: 504, type: 'timeout_error', calls: 1, upstreamAborted: true },
    stream: {
      status: 200,
      type: 'timeout_error',
      inStream: { text: 'tok0 tok1 ' },
      calls: 1,
      upstreamAborted: true,
    },
  },
  {
    name: 'drop mid-stream (truncation)',
    faults: [{ type: 'drop', afterTokens: 3 }],
    json: { status: 502, type: 'upstream_error', calls: 1 },
    stream: {
      status: 200,
      type: 'upstream_error',
      inStream: { text: 'tok0 tok1 tok2 ' },
      calls: 1,
    },
  },
  {
    name: 'malformed frame mid-stream',
    faults: [{ type: 'malformed', afterTokens: 2 }],
    json: { status: 502, type: 'upstream_error', calls: 1 },
    stream: { status: 200, type: 'upstream_error', inStream: { text: 'tok0 tok1 ' }, calls: 1 },
  },
  {
    name: 'error frame mid-stream',
    faults: [{ type: 'error-frame', afterTokens: 2, code: 3040, message: 'Out of capacity.' }],
    json: { status: 502, type: 'upstream_error', message: /Out of capacity/, calls: 1 },
    stream: {
      status: 200,
      type: 'upstream_error',
      message: /Out of capacity/,
      inStream: { text: 'tok0 tok1 ' },
      calls: 1,
    },
  },
  {
    name: 'JSON answered to a stream request',
    faults: [{ type: 'json-for-stream' }],
    json: { status: 200, calls: 1, cachedAfter: true },
    stream: { status: 200, calls: 1, cachedAfter: true },
  },
]

const emulator = createWorkersAIEmulator({ tokens: 6 })
let upstream: EmulatorServer
const servers: { origin: string; close(): Promise<void> }[] = []
let url: string
let openaiUrl: string
let prompts = 0

async function serveWith(config: Partial<CopilotEdgeConfig>): Promise<string> {
  const server = await serveHandler(
    createCopilotEdgeHandler({
      apiKey: emulator.apiToken,
      accountId: emulator.accountId,
      baseURL: upstream.baseURL,
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 1500 },
      timeoutMs: 300,
      idleTimeoutMs: 300,
      heartbeatMs: 0,
      logger: silent,
      ...config,
    }),
  )
  servers.push(server)
  return server.origin
}

beforeAll(async () => {
  upstream = await emulator.listen({ port: 0 })
  url = await serveWith({})
  openaiUrl = await serveWith({
    provider: createOpenAICompatibleProvider({
      baseURL: `${upstream.baseURL}/accounts/${emulator.accountId}/ai/v1`,
      apiKey: emulator.apiToken,
    }),
  })
})

afterAll(async () => {
  for (const server of servers) await server.close()
  await upstream?.close()
})

function ask(target: string, prompt: string, stream: boolean): Promise<Response> {
  return fetch(target, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: MODEL, stream, messages: [{ role: 'user', content: prompt }] }),
  })
}

/** Asserts a successful answer with the full text; returns its X-Cache. */
async function expectComplete(res: Response, stream: boolean): Promise<string | null> {
  expect(res.status).toBe(200)
  if (stream) {
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    const result = await readStream(res)
    expect(result.error).toBeNull()
    expect(result.text).toBe(TEXT)
    expect(result.done).toBe(true)
    expect(result.eventsAfterEnd).toBe(0)
  } else {
    const body = await res.json()
    expect(body.object).toBe('chat.completion')
    expect(body.choices[0].message.content).toBe(TEXT)
  }
  return res.headers.get('x-cache')
}

async function expectOutcome(res: Response, stream: boolean, want: Expected): Promise<void> {
  expect(res.status).toBe(want.status)
  if (want.status === 200 && !want.inStream) {
    await expectComplete(res, stream)
    return
  }
  if (want.inStream) {
    const result = await readStream(res)
    expect(result.text).toBe(want.inStream.text)
    expect(result.done).toBe(false)
    expect(result.error).not.toBeNull()
    expect(result.error?.type).toBe(want.type)
    expect(typeof result.error?.message).toBe('string')
    if (want.message) expect(result.error?.message).toMatch(want.message)
    expect(result.finishReason).toBeNull()
    expect(result.eventsAfterEnd).toBe(0)
    return
  }
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  const body = await res.json()
  expect(body.error.type).toBe(want.type)
  expect(body.error.message.length).toBeGreaterThan(10)
  if (want.message) expect(body.error.message).toMatch(want.message)
  if (want.retryAfter !== undefined) {
    if (typeof want.retryAfter === 'string')
      expect(res.headers.get('retry-after')).toBe(want.retryAfter)
    else expect(res.headers.get('retry-after')).toMatch(want.retryAfter)
  }
}

/** The same request again reaches the upstream (nothing was cached) or is a hit (it was complete). */
async function expectAfterwards(target: string, prompt: string, stream: boolean, cached: boolean) {
  emulator.reset()
  const again = await ask(target, prompt, stream)
  const xCache = await expectComplete(again, stream)
  await emulator.idle()
  if (cached) {
    expect(xCache).toBe('HIT')
    expect(emulator.requests).toHaveLength(0)
    return
  }
  expect(xCache).toBe('MISS')
  expect(emulator.requests).toHaveLength(1)
  // And now it is cached: the check above could have failed.
  emulator.reset()
  expect(await expectComplete(await ask(target, prompt, stream), stream)).toBe('HIT')
  expect(emulator.requests).toHaveLength(0)
}

describe('upstream faults over loopback HTTP', () => {
  // Both wire shapes: Workers AI's native frames (the default provider on /ai/run) and OpenAI chunks
  // (the OpenAI-compatible provider on the emulator's /ai/v1 route).
  for (const route of ['Workers AI /ai/run', 'OpenAI-compatible /ai/v1'] as const) {
    for (const c of cases) {
      for (const stream of [false, true]) {
        const want = stream ? c.stream : c.json
        if (!want) continue
        it(`${route}: ${c.name}, ${stream ? 'streaming' : 'non-streaming'}: ${describeOutcome(want)}`, async () => {
          const target = route === 'Workers AI /ai/run' ? url : openaiUrl
          emulator.reset()
          emulator.fault(c.faults)
          const prompt = `fault case ${++prompts}`
          const res = await ask(target, prompt, stream)
          await expectOutcome(res, stream, want)
          await emulator.idle()
          expect(emulator.requests).toHaveLength(want.calls)
          expect(emulator.requests[0]?.route).toBe(
            route === 'Workers AI /ai/run' ? 'run' : 'chat-completions',
          )
          if (want.upstreamAborted) {
            expect(emulator.requests.every((r) => r.aborted)).toBe(true)
          }
          await expectAfterwards(target, prompt, stream, want.cachedAfter ?? false)
        })
      }
    }
  }

  it('a stall before the first byte past heartbeatMs: 200 SSE with pings, then an in-stream timeout error', async () => {
    const target = await serveWith({ heartbeatMs: 50 })
    emulator.reset()
    emulator.fault({ type: 'stall', ms: 10_000 })
    const res = await ask(target, 'heartbeat stall', true)
    expect(res.status).toBe(200)
    const result = await readStream(res)
    expect(result.raw).toMatch(/^: ping\n\n/)
    expect(result.text).toBe('')
    expect(result.done).toBe(false)
    expect(result.error?.type).toBe('timeout_error')
    await emulator.idle()
    expect(emulator.requests).toHaveLength(1)
    expect(emulator.requests[0]?.aborted).toBe(true)
    await expectAfterwards(target, 'heartbeat stall', true, false)
  })

  for (const stream of [false, true]) {
    it(`an upstream auth failure (${stream ? 'streaming' : 'non-streaming'}): 502 naming the apiKey setting, not retried`, async () => {
      const target = await serveWith({ apiKey: 'not-the-right-token' })
      emulator.reset()
      const res = await ask(target, 'auth failure', stream)
      expect(res.status).toBe(502)
      const body = await res.json()
      expect(body.error.type).toBe('upstream_error')
      expect(body.error.message).toMatch(/apiKey/)
      expect(body.error.message).toMatch(/CLOUDFLARE_API_TOKEN/)
      expect(body.error.message).not.toContain('not-the-right-token')
      await emulator.idle()
      expect(emulator.requests).toHaveLength(1)
      expect(emulator.requests[0]?.status).toBe(401)
      // The process keeps serving (the well-configured handler beside it too).
      await expectAfterwards(url, `after auth failure ${stream}`, stream, false)
    })

    it(`a model the upstream does not know (${stream ? 'streaming' : 'non-streaming'}): 502 naming the model setting`, async () => {
      const target = await serveWith({ model: '@cf/nobody/no-such-model' })
      emulator.reset()
      // The request names no model: the configured default is what the upstream does not know.
      const res = await fetch(target, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ stream, messages: [{ role: 'user', content: 'unknown model' }] }),
      })
      expect(res.status).toBe(502)
      const body = await res.json()
      expect(body.error.type).toBe('upstream_error')
      expect(body.error.message).toMatch(/`model`/)
      expect(body.error.message).toContain('@cf/nobody/no-such-model')
      await emulator.idle()
      expect(emulator.requests).toHaveLength(1)
      expect(emulator.requests[0]?.status).toBe(400)
      await expectAfterwards(url, `after unknown model ${stream}`, stream, false)
    })
  }
})

describe('client disconnects over loopback HTTP (no timeouts configured: only the disconnect can stop the upstream)', () => {
  let target: string
  beforeAll(async () => {
    target = await serveWith({ timeoutMs: 0, idleTimeoutMs: 0, heartbeatMs: 0 })
  })

  /** Waits until the emulator saw the upstream request aborted, or fails after 2 s. */
  async function upstreamAborted(): Promise<void> {
    const until = Date.now() + 2000
    while (!emulator.requests[0]?.aborted) {
      if (Date.now() > until) throw new Error('the upstream request was never aborted')
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  it('mid-stream: the upstream request is aborted at once, and the next request is served', async () => {
    emulator.reset()
    emulator.fault({ type: 'stall-mid-stream', afterTokens: 2, ms: 60_000 })
    const controller = new AbortController()
    const res = await fetch(target, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ stream: true, messages: [{ role: 'user', content: 'disconnect 1' }] }),
      signal: controller.signal,
    })
    const reader = res.body!.getReader()
    let seen = ''
    while (!seen.includes('tok1')) seen += new TextDecoder().decode((await reader.read()).value)
    controller.abort()
    await upstreamAborted()
    expect(emulator.requests[0]?.completed).toBe(false)
    await expectAfterwards(target, 'disconnect 1', true, false)
  })

  for (const stream of [false, true]) {
    it(`while waiting for the first byte (${stream ? 'streaming' : 'non-streaming'}): the upstream request is aborted`, async () => {
      emulator.reset()
      emulator.fault({ type: 'stall', ms: 60_000 })
      const controller = new AbortController()
      const pending = fetch(target, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          stream,
          messages: [{ role: 'user', content: `disconnect ${stream}` }],
        }),
        signal: controller.signal,
      })
      while (emulator.requests.length === 0) await new Promise((r) => setTimeout(r, 5))
      controller.abort()
      await expect(pending).rejects.toThrow()
      await upstreamAborted()
      await expectAfterwards(target, `disconnect ${stream}`, stream, false)
    })
  }

  it('while only pings were sent: the upstream request is aborted', async () => {
    const pinging = await serveWith({ timeoutMs: 0, idleTimeoutMs: 0, heartbeatMs: 30 })
    emulator.reset()
    emulator.fault({ type: 'stall', ms: 60_000 })
    const controller = new AbortController()
    const res = await fetch(pinging, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ stream: true, messages: [{ role: 'user', content: 'pings only' }] }),
      signal: controller.signal,
    })
    expect(res.status).toBe(200)
    const first = new TextDecoder().decode((await res.body!.getReader().read()).value)
    expect(first).toBe(': ping\n\n')
    controller.abort()
    await upstreamAborted()
    await expectAfterwards(pinging, 'pings only', true, false)
  })
})

describe('identical concurrent non-stream requests share one upstream call, over loopback HTTP', () => {
  let target: string
  beforeAll(async () => {
    target = await serveWith({ timeoutMs: 0, idleTimeoutMs: 0, heartbeatMs: 0 })
  })

  const send = (prompt: string, signal?: AbortSignal) =>
    fetch(target, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: prompt }] }),
      ...(signal ? { signal } : {}),
    })

  async function oneUpstreamCallArrived(): Promise<void> {
    while (emulator.requests.length === 0) await new Promise((r) => setTimeout(r, 5))
  }

  it('one caller leaving does not abort the call the others wait for', async () => {
    emulator.reset()
    emulator.fault({ type: 'stall', ms: 300 })
    const leaving = new AbortController()
    const a = send('shared 1', leaving.signal)
    const b = send('shared 1')
    await oneUpstreamCallArrived()
    await new Promise((r) => setTimeout(r, 50))
    leaving.abort()
    await expect(a).rejects.toThrow()
    const answer = await b
    expect(await expectComplete(answer, false)).toBe('MISS')
    await emulator.idle()
    expect(emulator.requests).toHaveLength(1)
    expect(emulator.requests[0]?.aborted).toBe(false)
  })

  it('the last caller leaving aborts the upstream call, and nothing is cached', async () => {
    emulator.reset()
    emulator.fault({ type: 'stall', ms: 60_000 })
    const controllers = [new AbortController(), new AbortController(), new AbortController()]
    const pending = controllers.map((c) => send('shared 2', c.signal))
    await oneUpstreamCallArrived()
    for (const c of controllers) c.abort()
    for (const p of pending) await expect(p).rejects.toThrow()
    const until = Date.now() + 2000
    while (!emulator.requests[0]?.aborted && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 10))
    }
    expect(emulator.requests).toHaveLength(1)
    expect(emulator.requests[0]?.aborted).toBe(true)
    await expectAfterwards(target, 'shared 2', false, false)
  })

  it('a shared failure reaches every caller, and is not cached', async () => {
    emulator.reset()
    emulator.fault({ type: 'error-frame', afterTokens: 1, message: 'Out of capacity.' })
    const answers = await Promise.all([send('shared 3'), send('shared 3'), send('shared 3')])
    for (const res of answers) {
      expect(res.status).toBe(502)
      expect((await res.json()).error.message).toMatch(/Out of capacity/)
    }
    await emulator.idle()
    expect(emulator.requests).toHaveLength(1)
    await expectAfterwards(target, 'shared 3', false, false)
  })
})

describe('a client that stops reading, over loopback HTTP', () => {
  it('pauses the upstream (bounded buffering, not a timeout), and its disconnect aborts it', async () => {
    const long = createWorkersAIEmulator({ tokens: 5_000_000 })
    const longUpstream = await long.listen({ port: 0 })
    const served = await serveHandler(
      createCopilotEdgeHandler({
        apiKey: long.apiToken,
        accountId: long.accountId,
        baseURL: longUpstream.baseURL,
        idleTimeoutMs: 200,
        logger: silent,
      }),
    )
    try {
      const req = http.request(served.origin, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
      })
      req.on('error', () => {})
      req.on('response', (res) => res.pause())
      req.end(JSON.stringify({ stream: true, messages: [{ role: 'user', content: 'never read' }] }))
      const sent = async (ms: number) => {
        await new Promise((r) => setTimeout(r, ms))
        return long.requests[0]?.tokensSent ?? 0
      }
      // The socket buffers take a moment to fill (longer on a busy machine, and on Node 22 than
      // 20): wait until the count stops moving, then check that it stays put.
      let first = await sent(200)
      for (const deadline = Date.now() + 5000; Date.now() < deadline; ) {
        const next = await sent(200)
        if (next === first && next > 0) break
        first = next
      }
      const second = await sent(400)
      // Paused at whatever the socket buffers hold: far from the 5,000,000-token reply.
      expect(first).toBeGreaterThan(0)
      expect(second).toBe(first)
      expect(second).toBeLessThan(1_000_000)
      // Backpressure is not upstream silence: idleTimeoutMs (200 ms) did not fire.
      expect(long.requests[0]?.aborted).toBe(false)
      req.destroy()
      const until = Date.now() + 2000
      while (!long.requests[0]?.aborted && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 10))
      }
      expect(long.requests[0]?.aborted).toBe(true)
    } finally {
      await served.close()
      await longUpstream.close()
    }
  })
})

function describeOutcome(want: Expected): string {
  const calls = `${want.calls} upstream call${want.calls === 1 ? '' : 's'}`
  if (want.inStream) return `200 then an in-stream ${want.type}, no [DONE], ${calls}`
  if (want.status === 200) return `200 complete, ${calls}`
  return `${want.status} ${want.type}${want.retryAfter ? ' with Retry-After' : ''}, ${calls}`
}
