import { request as httpRequest, type IncomingMessage } from 'node:http'
import { brotliDecompressSync, createBrotliDecompress, createGunzip, gunzipSync } from 'node:zlib'
import fc from 'fast-check'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createCopilotEdgeHandler } from '../../../src/server'
import {
  COMPRESSION_HEADER,
  compressResponse,
  runtimeCompressors,
  type SseEncoding,
  withCompression,
} from '../../../src/server/http/compress-sse'
import { EMULATOR_REPLY, emulatorHandlers } from '../../helpers/emulator-handler'
import { type ServedHandler, serveHandler } from '../../helpers/serve-handler'
import { bodyReader, fakeClock } from '../helpers/fake-clock'
import { Channel, fakeProvider } from '../helpers/fake-provider'
import { hello, normalise, post } from '../helpers/post'

const compressors = runtimeCompressors()!
const ENCODINGS = ['gzip', 'br'] as const

/** A streaming decoder for `encoding`: feed it bytes, read what they decode to so far. */
function decoder(encoding: 'gzip' | 'br') {
  const stream = encoding === 'gzip' ? createGunzip() : createBrotliDecompress()
  let text = ''
  let failed: Error | undefined
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8')
  })
  stream.on('error', (error) => {
    failed = error
  })
  return {
    /** Decodes `bytes` at once (a flush): the text they complete. */
    async feed(bytes: Uint8Array): Promise<void> {
      await new Promise<void>((resolve) => stream.write(bytes, () => resolve()))
      await new Promise<void>((resolve) => stream.flush(() => resolve()))
      if (failed) throw failed
    },
    text: () => text,
  }
}

const decodeWhole = (encoding: 'gzip' | 'br', bytes: Uint8Array) =>
  (encoding === 'gzip' ? gunzipSync(bytes) : brotliDecompressSync(bytes)).toString('utf8')

interface RawResponse {
  response: IncomingMessage
  /** Every chunk read off the socket, as it came. */
  chunks: Buffer[]
  ended: Promise<void>
  destroy(): void
}

/** POSTs over node:http, which sends only the headers given (no default Accept-Encoding). */
function rawPost(url: string, body: unknown, headers: Record<string, string>) {
  return new Promise<RawResponse>((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers } },
      (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('error', () => {})
        const ended = new Promise<void>((done) => response.on('close', () => done()))
        resolve({ response, chunks, ended, destroy: () => req.destroy() })
      },
    )
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
}

const streamHello = { ...hello, stream: true }

describe('SSE compression over loopback HTTP', () => {
  const serve = emulatorHandlers({ compression: 'auto' })
  const served: ServedHandler[] = []
  afterEach(async () => {
    await Promise.all(served.splice(0).map((s) => s.close()))
  })

  it('sends gzip and br that fetch decodes to the same bytes as the unencoded answer', async () => {
    const { origin } = await serve({ tokens: 300 })
    const ask = async (acceptEncoding: string) => {
      const response = await fetch(`${origin}/api`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Accept-Encoding': acceptEncoding },
        body: JSON.stringify({ ...hello, stream: true, cache: false }),
      })
      return {
        encoding: response.headers.get('content-encoding'),
        vary: response.headers.get('vary'),
        text: normalise(await response.text()),
      }
    }
    const plain = await ask('identity')
    expect(plain.encoding).toBeNull()
    expect(plain.text).toMatch(/^id: 1\ndata: \{/)
    expect(plain.text.endsWith('data: [DONE]\n\n')).toBe(true)
    for (const encoding of ENCODINGS) {
      const got = await ask(encoding)
      expect(got.encoding).toBe(encoding)
      expect(got.vary).toBe(`Accept-Encoding, ${COMPRESSION_HEADER}`)
      expect(got.text).toBe(plain.text)
    }
  })

  it.each(ENCODINGS)(
    'flushes each batch as it goes (%s): every chunk off the socket decodes on its own, the first token before the answer ends',
    async (encoding) => {
      const channel = new Channel()
      const server = await serveHandler(
        createCopilotEdgeHandler({
          provider: fakeProvider([{ channel }]),
          cache: false,
          compression: 'auto',
        }),
      )
      served.push(server)
      channel.push({ type: 'text', text: 'First' })
      const raw = await rawPost(`${server.origin}/api`, streamHello, {
        'Accept-Encoding': encoding,
      })
      expect(raw.response.headers['content-encoding']).toBe(encoding)
      const decode = decoder(encoding)
      let fed = 0
      const decodeArrived = async () => {
        for (; fed < raw.chunks.length; fed++) await decode.feed(raw.chunks[fed] as Buffer)
        return decode.text()
      }
      // The answer is still open (the channel has not ended), yet its first token reads.
      await vi.waitFor(async () => expect(await decodeArrived()).toContain('"content":"First"'))
      expect(decode.text().endsWith('\n\n')).toBe(true)
      expect(raw.response.complete).toBe(false)
      for (const word of ['second', 'third']) {
        channel.push({ type: 'text', text: word })
        await vi.waitFor(async () => expect(await decodeArrived()).toContain(`"content":"${word}"`))
        expect(decode.text().endsWith('\n\n')).toBe(true)
      }
      channel.push({ type: 'finish', reason: 'stop' })
      channel.end()
      await raw.ended
      expect(raw.response.complete).toBe(true)
      expect(await decodeArrived()).toBe(decodeWhole(encoding, Buffer.concat(raw.chunks)))
      expect(decode.text().endsWith('data: [DONE]\n\n')).toBe(true)
    },
  )

  it('still aborts the upstream when a client of a compressed stream disconnects mid-answer', async () => {
    const { origin, emulator } = await serve({ tokens: 400, tokenDelayMs: 5 })
    const raw = await rawPost(`${origin}/api`, streamHello, { 'Accept-Encoding': 'gzip' })
    expect(raw.response.headers['content-encoding']).toBe('gzip')
    const decode = decoder('gzip')
    let fed = 0
    await vi.waitFor(async () => {
      for (; fed < raw.chunks.length; fed++) await decode.feed(raw.chunks[fed] as Buffer)
      expect(decode.text()).toContain('"content":"')
    })
    raw.destroy()
    await emulator.idle()
    expect(emulator.requests).toHaveLength(1)
    expect(emulator.requests[0]?.aborted).toBe(true)
    expect(emulator.requests[0]?.completed).toBe(false)
  })

  it('answers unencoded without Accept-Encoding, with identity, with the opt-out header, and with compression: false', async () => {
    const on = await serve()
    const off = await serve({}, { compression: false })
    const cases: [string, Record<string, string>, string | undefined][] = [
      [on.origin, {}, 'Accept-Encoding'],
      [on.origin, { 'Accept-Encoding': 'identity' }, 'Accept-Encoding'],
      [
        on.origin,
        { 'Accept-Encoding': 'gzip, br', [COMPRESSION_HEADER]: 'off' },
        'Accept-Encoding',
      ],
      [off.origin, { 'Accept-Encoding': 'gzip, br' }, undefined],
    ]
    for (const [origin, headers, vary] of cases) {
      const raw = await rawPost(`${origin}/api`, streamHello, headers)
      await raw.ended
      expect(raw.response.headers['content-encoding'], JSON.stringify(headers)).toBeUndefined()
      if (vary) expect(raw.response.headers.vary).toContain(vary)
      else expect(raw.response.headers.vary).toBeUndefined()
      const body = Buffer.concat(raw.chunks).toString('utf8')
      expect(body).toMatch(/^id: 1\ndata: \{/)
      expect(body).toContain(`"content":"${EMULATOR_REPLY.split(' ')[0]}`)
      expect(body.endsWith('data: [DONE]\n\n')).toBe(true)
    }
  })

  it('leaves JSON answers unencoded', async () => {
    const { origin } = await serve()
    const raw = await rawPost(`${origin}/api`, hello, { 'Accept-Encoding': 'gzip, br' })
    await raw.ended
    expect(raw.response.headers['content-encoding']).toBeUndefined()
    expect(raw.response.headers.vary).toBeUndefined()
    const body = JSON.parse(Buffer.concat(raw.chunks).toString('utf8'))
    expect(body.choices[0].message.content).toBe(EMULATOR_REPLY)
  })

  it('compresses a cached answer replayed as SSE too (X-Cache: HIT), to the same bytes as unencoded', async () => {
    const { origin, emulator } = await serve()
    const ask = async (acceptEncoding: 'br' | 'identity') => {
      const raw = await rawPost(`${origin}/api`, streamHello, { 'Accept-Encoding': acceptEncoding })
      await raw.ended
      const bytes = Buffer.concat(raw.chunks)
      return {
        cache: raw.response.headers['x-cache'],
        encoding: raw.response.headers['content-encoding'],
        text: normalise(acceptEncoding === 'br' ? decodeWhole('br', bytes) : bytes.toString()),
      }
    }
    const fresh = await ask('br')
    const replayed = await ask('br')
    const plain = await ask('identity')
    expect([fresh.cache, replayed.cache, plain.cache]).toEqual(['MISS', 'HIT', 'HIT'])
    expect([replayed.encoding, plain.encoding]).toEqual(['br', undefined])
    expect(replayed.text).toBe(plain.text)
    expect(replayed.text).toContain(`"content":"${EMULATOR_REPLY}"`)
    expect(emulator.requests).toHaveLength(1)
  })
})

describe('SSE compression of the handler’s response', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('lets heartbeats through: each : ping comes out of the compressor at once', async () => {
    vi.useFakeTimers()
    const channel = new Channel()
    const handler = createCopilotEdgeHandler({
      provider: fakeProvider([{ channel }]),
      clock: fakeClock(),
      heartbeatMs: 1000,
      idleTimeoutMs: 0,
      compression: 'auto',
    })
    channel.push({ type: 'text', text: 'a' })
    const response = await handler(post(streamHello, { 'Accept-Encoding': 'gzip' }))
    expect(response.headers.get('content-encoding')).toBe('gzip')
    const reader = response.body!.getReader()
    const decode = decoder('gzip')
    await decode.feed((await reader.read()).value!)
    expect(normalise(decode.text())).toContain('"content":"a"')
    const before = decode.text().length
    const next = reader.read()
    await vi.advanceTimersByTimeAsync(1000)
    await decode.feed((await next).value!)
    expect(decode.text().slice(before)).toBe(': ping\n\n')
    channel.push({ type: 'finish', reason: 'stop' })
    channel.end()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      await decode.feed(value)
    }
    expect(decode.text().endsWith('data: [DONE]\n\n')).toBe(true)
  })

  it('cancelling the compressed body aborts the upstream', async () => {
    const provider = fakeProvider([{ hang: true }])
    const handler = createCopilotEdgeHandler({
      provider,
      heartbeatMs: 10,
      timeoutMs: 0,
      compression: 'auto',
    })
    const response = await handler(post(streamHello, { 'Accept-Encoding': 'br' }))
    expect(response.headers.get('content-encoding')).toBe('br')
    const body = bodyReader(response)
    await body.read() // the first ping
    await body.cancel()
    await vi.waitFor(() => expect(provider.calls[0]?.aborted).toBe(true))
  })

  it('never encodes twice: a response that already has a Content-Encoding passes untouched', () => {
    const encoded = new Response('already', {
      headers: { 'Content-Type': 'text/event-stream', 'Content-Encoding': 'gzip' },
    })
    const request = post(streamHello, { 'Accept-Encoding': 'br' })
    expect(compressResponse(request, encoded, compressors)).toBe(encoded)
  })

  it('is not there at all with compression: false or on a runtime without a flushing compressor', async () => {
    const handler = async () =>
      new Response('x', { headers: { 'Content-Type': 'text/event-stream' } })
    expect(withCompression(handler, false)).toBe(handler)
    expect(withCompression(handler, 'auto')).not.toBe(handler)
    vi.stubGlobal('navigator', { userAgent: 'Cloudflare-Workers' })
    try {
      expect(runtimeCompressors()).toBeUndefined()
      expect(withCompression(handler, 'auto')).toBe(handler)
    } finally {
      vi.unstubAllGlobals()
    }
    expect(runtimeCompressors()?.encodings).toContain('gzip')
  })

  it('rejects a compression setting other than auto or false', () => {
    expect(() => createCopilotEdgeHandler({ compression: true as never })).toThrow(TypeError)
    expect(() => createCopilotEdgeHandler({ compression: 'gzip' as never })).toThrow(
      /compression must be 'auto' or false/,
    )
  })
})

describe('the flush-per-chunk framing (property)', () => {
  const encodings = compressors.encodings.filter(
    (e): e is 'gzip' | 'br' => e === 'gzip' || e === 'br',
  ) satisfies SseEncoding[]

  it('turns every body chunk into one compressed chunk that decodes, on its own, to exactly that chunk', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...encodings),
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 40_000 }), { maxLength: 12 }),
        async (encoding, chunks) => {
          const source = new ReadableStream<Uint8Array>({
            start(controller) {
              for (const chunk of chunks) controller.enqueue(chunk)
              controller.close()
            },
          })
          const response = compressResponse(
            new Request('http://x/', { headers: { 'Accept-Encoding': encoding } }),
            new Response(source, { headers: { 'Content-Type': 'text/event-stream' } }),
            compressors,
          )
          expect(response.headers.get('content-encoding')).toBe(encoding)
          const reader = response.body!.getReader()
          const stream = encoding === 'gzip' ? createGunzip() : createBrotliDecompress()
          const out: Buffer[] = []
          stream.on('data', (piece: Buffer) => out.push(piece))
          const all: Uint8Array[] = []
          for (const chunk of chunks) {
            const { done, value } = await reader.read()
            expect(done).toBe(false)
            all.push(value!)
            await new Promise<void>((resolve) => stream.write(value, () => resolve()))
            await new Promise<void>((resolve) => stream.flush(() => resolve()))
            expect(Buffer.concat(out.splice(0))).toEqual(Buffer.from(chunk))
          }
          const tail = await reader.read()
          if (!tail.done) all.push(tail.value)
          expect((await reader.read()).done).toBe(true)
          const whole =
            encoding === 'gzip'
              ? gunzipSync(Buffer.concat(all))
              : brotliDecompressSync(Buffer.concat(all))
          expect(whole).toEqual(Buffer.concat(chunks.map((c) => Buffer.from(c))))
        },
      ),
      { seed: 13, numRuns: 150 },
    )
  }, 60_000)
})
