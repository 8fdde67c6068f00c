import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  type ChatCompletionChunk,
  CopilotHTTPError,
  CopilotStreamError,
  CopilotTruncatedError,
  streamCopilot,
} from '../../src/client'
import {
  answeringFetch,
  chunk,
  controlledBody,
  inMemoryFetch,
  sseBody,
  sseResponse,
} from './sse-helpers'

const messages = [{ role: 'user' as const, content: 'Hi' }]

async function drain(iterable: AsyncIterable<string>): Promise<string[]> {
  const deltas: string[] = []
  for await (const delta of iterable) deltas.push(delta)
  return deltas
}

describe('streamCopilot with an in-memory fetch', () => {
  it('sends the POST at once with stream: true, the messages, the extra body fields and headers', () => {
    const { fetch, requests } = inMemoryFetch()
    streamCopilot({
      api: '/api/copilot',
      messages,
      body: { model: '@cf/x', temperature: 0.2, stream: false, messages: [] },
      headers: { authorization: 'Bearer t' },
      fetch,
    })
    expect(requests).toHaveLength(1) // before any iteration
    const [request] = requests
    expect(request?.url).toBe('/api/copilot')
    expect(request?.init.method).toBe('POST')
    expect(request?.body).toEqual({ model: '@cf/x', temperature: 0.2, stream: true, messages })
    const headers = new Headers(request?.init.headers)
    expect(headers.get('content-type')).toBe('application/json')
    expect(headers.get('accept')).toBe('text/event-stream')
    expect(headers.get('authorization')).toBe('Bearer t')
  })

  it('yields the content deltas, calls onChunk for each, and resolves the full text', async () => {
    const deltas = ['Hel', 'lo ', '👋', ' 世界']
    const { fetch } = answeringFetch(() => sseResponse(sseBody(deltas)))
    const onChunk = vi.fn<(delta: string, chunk: ChatCompletionChunk) => void>()
    const stream = streamCopilot({ api: 'http://x/api', messages, fetch, onChunk })
    expect(await drain(stream)).toEqual(deltas)
    expect(await stream.getFullResponse()).toBe('Hello 👋 世界')
    expect(onChunk.mock.calls.map(([delta]) => delta)).toEqual(deltas)
    expect(onChunk.mock.calls[0]?.[1]).toEqual(chunk('Hel'))
  })

  it('resolves getFullResponse without anyone iterating, and every iterator sees every delta', async () => {
    const { fetch } = answeringFetch(() => sseResponse(sseBody(['a', 'b', 'c'])))
    const stream = streamCopilot({ api: '/api', messages, fetch })
    expect(await stream.getFullResponse()).toBe('abc')
    expect(await drain(stream)).toEqual(['a', 'b', 'c'])
    expect(await drain(stream)).toEqual(['a', 'b', 'c'])
  })

  it('exposes the response so apps can read X-Cache, and calls onResponse before streaming', async () => {
    const { fetch } = answeringFetch(() =>
      sseResponse(sseBody(['cached']), { headers: { 'x-cache': 'HIT' } }),
    )
    const onChunk = vi.fn()
    const order: string[] = []
    const stream = streamCopilot({
      api: '/api',
      messages,
      fetch,
      onResponse: (response) => order.push(`response ${response.headers.get('x-cache')}`),
      onChunk: (delta) => order.push(`chunk ${delta}`),
    })
    expect((await stream.response).headers.get('x-cache')).toBe('HIT')
    await stream.getFullResponse()
    expect(order).toEqual(['response HIT', 'chunk cached'])
    expect(onChunk).not.toHaveBeenCalled()
  })

  it('after abort() ends iteration quietly and resolves getFullResponse to the partial text', async () => {
    const mock = inMemoryFetch()
    const body = controlledBody()
    const stream = streamCopilot({ api: '/api', messages, fetch: mock.fetch })
    mock.respond(sseResponse(body.stream))
    body.push(
      `data: ${JSON.stringify(chunk('one '))}\n\ndata: ${JSON.stringify(chunk('two '))}\n\n`,
    )
    const seen: string[] = []
    for await (const delta of stream) {
      seen.push(delta)
      if (seen.length === 2) stream.abort()
    }
    expect(seen).toEqual(['one ', 'two '])
    expect(await stream.getFullResponse()).toBe('one two ')
    expect(mock.requests[0]?.signal.aborted).toBe(true)
    expect(body.cancelled).toBe(true)
  })

  it('aborts the request when the caller signal aborts, before the response arrives', async () => {
    const mock = inMemoryFetch()
    const controller = new AbortController()
    const stream = streamCopilot({
      api: '/api',
      messages,
      fetch: mock.fetch,
      signal: controller.signal,
    })
    controller.abort()
    expect(await drain(stream)).toEqual([])
    expect(await stream.getFullResponse()).toBe('')
    expect(mock.requests[0]?.signal.aborted).toBe(true)
    await expect(stream.response).rejects.toMatchObject({ name: 'AbortError' })
  })

  it('aborts the request when the consumer breaks out of the loop', async () => {
    const mock = inMemoryFetch()
    const body = controlledBody()
    const stream = streamCopilot({ api: '/api', messages, fetch: mock.fetch })
    mock.respond(sseResponse(body.stream))
    body.push(`data: ${JSON.stringify(chunk('first'))}\n\n`)
    for await (const delta of stream) {
      expect(delta).toBe('first')
      break
    }
    expect(mock.requests[0]?.signal.aborted).toBe(true)
    expect(await stream.getFullResponse()).toBe('first')
  })

  it('rejects with CopilotHTTPError carrying the OpenAI error body of a 4xx answer', async () => {
    const error = {
      error: {
        message: 'messages is required',
        type: 'invalid_request_error',
        code: 'missing_field',
        param: 'messages',
      },
    }
    const { fetch } = answeringFetch(
      () =>
        new Response(JSON.stringify(error), {
          status: 400,
          headers: { 'content-type': 'application/json' },
        }),
    )
    const stream = streamCopilot({ api: '/api', messages, fetch })
    const thrown = await drain(stream).catch((e: unknown) => e)
    expect(thrown).toBeInstanceOf(CopilotHTTPError)
    expect(thrown).toMatchObject({
      status: 400,
      message: 'messages is required',
      param: 'messages',
      body: error,
    })
    await expect(stream.getFullResponse()).rejects.toBe(thrown)
    expect((await stream.response).status).toBe(400)
  })

  it('yields the deltas before an in-stream error, then throws CopilotStreamError', async () => {
    const body =
      `data: ${JSON.stringify(chunk('partial'))}\n\n` +
      'data: {"error":{"message":"Upstream timed out","type":"timeout_error","code":"upstream_idle_timeout"}}\n\n'
    const { fetch } = answeringFetch(() => sseResponse(body))
    const stream = streamCopilot({ api: '/api', messages, fetch })
    const seen: string[] = []
    const thrown = await (async () => {
      for await (const delta of stream) seen.push(delta)
    })().catch((e: unknown) => e)
    expect(seen).toEqual(['partial'])
    expect(thrown).toBeInstanceOf(CopilotStreamError)
    expect(thrown).toMatchObject({
      message: 'Upstream timed out',
      type: 'timeout_error',
      code: 'upstream_idle_timeout',
    })
  })

  it('does not leave an unhandled rejection when nobody reads a failed stream', async () => {
    const unhandled = vi.fn()
    process.on('unhandledRejection', unhandled)
    try {
      const fetch = (async () => {
        throw new TypeError('fetch failed')
      }) as typeof globalThis.fetch
      streamCopilot({ api: '/api', messages, fetch })
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(unhandled).not.toHaveBeenCalled()
    } finally {
      process.off('unhandledRejection', unhandled)
    }
  })

  it('uses the global fetch when none is given', async () => {
    const { fetch, requests } = answeringFetch(() => sseResponse(sseBody(['g'])))
    vi.stubGlobal('fetch', fetch)
    try {
      expect(await streamCopilot({ api: '/api', messages }).getFullResponse()).toBe('g')
      expect(requests).toHaveLength(1)
    } finally {
      vi.unstubAllGlobals()
    }
  })
})

describe('streamCopilot against a real loopback server', () => {
  let server: Server | undefined
  afterEach(async () => {
    server?.closeAllConnections()
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
    server = undefined
  })

  async function listen(
    handler: (req: IncomingMessage, res: ServerResponse) => void,
  ): Promise<string> {
    server = createServer(handler)
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    return `http://127.0.0.1:${port}/api/copilot`
  }

  it('streams deltas, sends the request body and resolves the full text', async () => {
    let received: unknown
    const url = await listen((req, res) => {
      let raw = ''
      req.on('data', (data) => (raw += data))
      req.on('end', () => {
        received = JSON.parse(raw)
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'x-cache': 'MISS',
        })
        // Write in awkward pieces: mid-line and mid-character.
        const bytes = Buffer.from(sseBody(['Grüß ', 'dich ', '🌍']))
        for (let i = 0; i < bytes.length; i += 7) res.write(bytes.subarray(i, i + 7))
        res.end()
      })
    })
    const stream = streamCopilot({ api: url, messages, body: { model: '@cf/m' } })
    expect(await drain(stream)).toEqual(['Grüß ', 'dich ', '🌍'])
    expect(await stream.getFullResponse()).toBe('Grüß dich 🌍')
    expect((await stream.response).headers.get('x-cache')).toBe('MISS')
    expect(received).toEqual({ model: '@cf/m', messages, stream: true })
  })

  it('closes the connection on abort mid-stream, and the server sees it close', async () => {
    let serverSawClose!: () => void
    const closed = new Promise<void>((resolve) => (serverSawClose = resolve))
    const url = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(`data: ${JSON.stringify(chunk('partial '))}\n\n`)
      res.on('close', () => serverSawClose()) // never ends on its own
    })
    const stream = streamCopilot({ api: url, messages })
    const seen: string[] = []
    for await (const delta of stream) {
      seen.push(delta)
      stream.abort()
    }
    expect(seen).toEqual(['partial '])
    expect(await stream.getFullResponse()).toBe('partial ')
    await closed
  })

  it('rejects with CopilotHTTPError for a JSON error answer from the server', async () => {
    const url = await listen((_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '2' })
      res.end(
        JSON.stringify({
          error: {
            message: 'Slow down',
            type: 'rate_limit_error',
            code: 'rate_limited',
            param: null,
          },
        }),
      )
    })
    const error = await streamCopilot({ api: url, messages })
      .getFullResponse()
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CopilotHTTPError)
    expect(error).toMatchObject({ status: 429, message: 'Slow down', code: 'rate_limited' })
    expect((error as CopilotHTTPError).headers.get('retry-after')).toBe('2')
  })

  it('rejects with CopilotTruncatedError when the server ends the stream without [DONE]', async () => {
    const url = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end(sseBody(['cut'], { done: false }))
    })
    const stream = streamCopilot({ api: url, messages })
    await expect(stream.getFullResponse()).rejects.toBeInstanceOf(CopilotTruncatedError)
    expect(await drain(stream).catch((e: unknown) => e)).toBeInstanceOf(CopilotTruncatedError)
  })

  it('rejects with CopilotTruncatedError when the server drops the connection mid-stream', async () => {
    const url = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(`data: ${JSON.stringify(chunk('half'))}\n\n`, () => res.destroy())
    })
    const stream = streamCopilot({ api: url, messages })
    const seen: string[] = []
    const error = await (async () => {
      for await (const delta of stream) seen.push(delta)
    })().catch((e: unknown) => e)
    expect(seen).toEqual(['half'])
    expect(error).toBeInstanceOf(CopilotTruncatedError)
  })
})
