// Benchmark 8: SSE compression. Our handler on @hono/node-server over loopback, the Workers AI
// emulator in-process (fetchImpl), a node:http client that sends Accept-Encoding itself, counts
// the bytes its socket read (headers and chunked framing included: what crossed the wire) and
// decodes each chunk as it arrives, so "first token" means the first content delta a client could
// show. Contenders: unencoded, and each
// coding our handler offers on this runtime (gzip, br, zstd on Node >= 22.15), plus gzip through
// the web CompressionStream (what an edge-only implementation would use; not ours: it cannot
// flush) to measure how long it holds a token.
import { readFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import zlib from 'node:zlib'
import { serve } from '@hono/node-server'
import { loadOurs, rootDir } from '../lib/ours.mjs'
import { interleave, median, pairedRatio } from '../lib/stats.mjs'

const QUIET = { debug() {}, info() {}, warn() {}, error() {} }

/** 2,000 word-sized tokens of real prose and code (this repository's README), not `tok0 tok1`. */
function answerText(words) {
  const text = readFileSync(join(rootDir, 'README.md'), 'utf8')
  const tokens = text.match(/\S+\s*/g) ?? []
  return tokens.slice(0, words).join('')
}

/** Decodes all the bytes so far at once, synchronously (a flushed prefix of the stream). */
function decodePrefix(encoding, bytes) {
  const options = { finishFlush: zlib.constants.Z_SYNC_FLUSH }
  if (encoding === 'gzip') return zlib.gunzipSync(bytes, options)
  if (encoding === 'br') {
    return zlib.brotliDecompressSync(bytes, {
      finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
    })
  }
  if (encoding === 'zstd') return zlib.zstdDecompressSync(bytes, { finishFlush: 1 })
  return bytes
}

const FIRST_TOKEN = /"content":"[^"]/

/**
 * POSTs a streaming chat request over node:http with its own socket (no keep-alive, so the
 * socket's byte count is this response's). Until the first token shows, every chunk is decoded
 * with what came before it, synchronously, the moment it arrives (so the client adds no thread
 * pool round trips of its own to the latency); the whole body is decoded once at the end and
 * checked for `[DONE]`.
 */
function ask(port, path, acceptEncoding, extraHeaders = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    let firstTokenMs = Number.NaN
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/json',
          ...(acceptEncoding ? { 'accept-encoding': acceptEncoding } : {}),
          ...extraHeaders,
        },
      },
      (res) => {
        const encoding = res.headers['content-encoding'] ?? 'identity'
        const chunks = []
        res.on('data', (chunk) => {
          chunks.push(chunk)
          if (!Number.isNaN(firstTokenMs)) return
          const text = decodePrefix(encoding, Buffer.concat(chunks)).toString('latin1')
          if (FIRST_TOKEN.test(text)) firstTokenMs = performance.now() - t0
        })
        res.on('end', () => {
          const totalMs = performance.now() - t0
          const body = decodePrefix(encoding, Buffer.concat(chunks)).toString('utf8')
          if (!body.endsWith('data: [DONE]\n\n')) {
            return reject(new Error(`${encoding} body did not end with [DONE]`))
          }
          resolve({
            status: res.statusCode,
            encoding,
            cache: res.headers['x-cache'],
            firstTokenMs,
            totalMs,
            wireBytes: res.socket?.bytesRead ?? Number.NaN,
          })
        })
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(JSON.stringify({ messages: [{ role: 'user', content: 'Tell me about copilotedge.' }] }))
  })
}

/** A compressor with the handler's settings (src/server/http/compress-sse.ts). */
function compressorLike(encoding) {
  const c = zlib.constants
  if (encoding === 'gzip') return zlib.createGzip({ level: 6, flush: c.Z_SYNC_FLUSH })
  if (encoding === 'zstd') return zlib.createZstdCompress({ flush: c.ZSTD_e_flush })
  return zlib.createBrotliCompress({
    flush: c.BROTLI_OPERATION_FLUSH,
    params: {
      [c.BROTLI_PARAM_MODE]: c.BROTLI_MODE_TEXT,
      [c.BROTLI_PARAM_QUALITY]: 5,
      [c.BROTLI_PARAM_LGWIN]: 18,
    },
  })
}

/** The paced answer's SSE events, one buffer per event, as the handler sends them unencoded. */
async function capturedEvents(port) {
  const body = await new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/paced',
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        const chunks = []
        res.on('data', (chunk) => chunks.push(chunk))
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(JSON.stringify({ messages: [{ role: 'user', content: 'Tell me about copilotedge.' }] }))
  })
  if (!body.endsWith('data: [DONE]\n\n')) throw new Error('capturing the events failed')
  return body
    .split(/(?<=\n\n)/)
    .filter((event) => event.length > 0)
    .map((event) => Buffer.from(event))
}

/** The handler's answer, unencoded by us, through the web CompressionStream (gzip). */
function withCompressionStream(handler) {
  return async (request) => {
    const response = await handler(request)
    const headers = new Headers(response.headers)
    headers.set('Content-Encoding', 'gzip')
    return new Response(response.body.pipeThrough(new CompressionStream('gzip')), {
      status: response.status,
      headers,
    })
  }
}

export async function run({ quick }) {
  const [server, testing] = await Promise.all([loadOurs('.'), loadOurs('testing')])
  const createHandler = server.module?.createCopilotEdgeHandler
  const createEmulator = testing.module?.createWorkersAIEmulator
  const missing = []
  if (typeof createHandler !== 'function') missing.push(server.missing ?? 'no handler export')
  if (typeof createEmulator !== 'function') missing.push(testing.missing ?? 'no emulator export')
  if (missing.length > 0) return { rows: [], notes: [], missing }

  const bench = '8 compression'
  const words = quick ? 500 : 2_000
  const rounds = quick ? 1 : 3
  const ttftSamples = quick ? 20 : 60
  const replaySamples = quick ? 10 : 30
  const reply = answerText(words)
  const tokenDelayMs = 1
  const emulators = {
    paced: createEmulator({ reply, tokenDelayMs }),
    short: createEmulator({ reply: answerText(20) }),
    cached: createEmulator({ reply }),
  }
  const handlerOf = (emulator, config = {}) =>
    createHandler({
      apiKey: emulator.apiToken,
      accountId: emulator.accountId,
      baseURL: emulator.baseURL,
      fetch: emulator.fetchImpl,
      stream: true,
      logger: QUIET,
      cache: false,
      // Opt-in since compression defaults to false.
      compression: 'auto',
      ...config,
    })
  const routes = {
    '/paced': handlerOf(emulators.paced),
    '/paced-cs': withCompressionStream(handlerOf(emulators.paced, { compression: false })),
    '/short': handlerOf(emulators.short),
    '/cached': handlerOf(emulators.cached, { cache: {} }),
  }
  const httpServer = await new Promise((resolve) => {
    const s = serve(
      {
        fetch: (request) => routes[new URL(request.url).pathname](request),
        port: 0,
        hostname: '127.0.0.1',
      },
      () => resolve(s),
    )
  })
  const { port } = httpServer.address()

  // What the handler offers on this runtime: br, gzip, and zstd where node:zlib has it.
  const offered = ['gzip', 'br', ...(typeof zlib.createZstdCompress === 'function' ? ['zstd'] : [])]
  const encoded = offered.map((e) => ({ name: e, accept: e }))
  const identity = { name: 'identity', accept: 'identity' }
  const rows = []
  const notes = []
  const check = (result, expected) => {
    if (result.status !== 200 || result.encoding !== expected) {
      throw new Error(`expected 200 ${expected}, got ${result.status} ${result.encoding}`)
    }
  }
  try {
    // 1. A paced answer (one event per flush, as a live model streams): wire bytes, and when the
    //    first token becomes readable. The CompressionStream contender holds it to the end.
    const streamed = [identity, ...encoded, { name: 'gzip (CompressionStream)', accept: 'gzip' }]
    for (const contender of streamed) await ask(port, '/short', contender.accept) // warm-up
    const paced = await interleave(streamed, rounds, async (contender) => {
      const path = contender.name.includes('CompressionStream') ? '/paced-cs' : '/paced'
      const result = await ask(port, path, contender.accept)
      check(result, contender.accept)
      return result
    })
    const base = paced.get('identity')
    for (const contender of streamed) {
      const samples = paced.get(contender.name)
      const isBase = contender === identity
      rows.push({
        bench,
        metric: `bytes on the wire, ${words.toLocaleString('en-US')}-token streamed answer`,
        contender: isBase ? 'unencoded' : contender.name,
        value: median(samples.map((s) => s.wireBytes)),
        unit: 'B',
        ...(isBase ? {} : { ratio: pairedRatio(samples, base, (s) => s.wireBytes) }),
      })
    }
    for (const contender of streamed) {
      const samples = paced.get(contender.name)
      const isBase = contender === identity
      rows.push({
        bench,
        metric: `first token readable, ${words.toLocaleString('en-US')}-token answer paced ${tokenDelayMs} ms/token`,
        contender: isBase ? 'unencoded' : contender.name,
        value: median(samples.map((s) => s.firstTokenMs)),
        unit: 'ms',
        ...(isBase ? {} : { ratio: pairedRatio(samples, base, (s) => s.firstTokenMs) }),
        ...(contender.name.includes('CompressionStream')
          ? {
              note: `whole answer took ${median(samples.map((s) => s.totalMs)).toFixed(0)} ms`,
            }
          : {}),
      })
    }

    // 2. Added first-token latency: short answers, unpaced, many samples.
    const ttftContenders = [identity, ...encoded]
    for (const contender of ttftContenders) {
      for (let i = 0; i < 5; i++) await ask(port, '/short', contender.accept)
    }
    const ttft = await interleave(ttftContenders, ttftSamples, async (contender) => {
      const result = await ask(port, '/short', contender.accept)
      check(result, contender.accept)
      return result
    })
    const ttftBase = ttft.get('identity')
    const baseMs = median(ttftBase.map((s) => s.firstTokenMs))
    for (const contender of ttftContenders) {
      const samples = ttft.get(contender.name)
      const isBase = contender === identity
      const ms = median(samples.map((s) => s.firstTokenMs))
      rows.push({
        bench,
        metric: 'time to first token (short answer, request to decoded delta)',
        contender: isBase ? 'unencoded' : contender.name,
        value: ms,
        unit: 'ms',
        ...(isBase
          ? {}
          : {
              ratio: pairedRatio(samples, ttftBase, (s) => s.firstTokenMs),
              note: `added ${(ms - baseMs).toFixed(2)} ms (difference of medians)`,
            }),
      })
    }

    // 2b. The handler's own added latency, no sockets: from the call to the first body chunk
    //     that holds a content delta (decoded), in-process.
    const inProcess = handlerOf(emulators.short)
    const firstChunk = async (accept) => {
      const t0 = performance.now()
      const response = await inProcess(
        new Request('http://bench.local/short', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'accept-encoding': accept },
          body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }] }),
        }),
      )
      const encoding = response.headers.get('content-encoding') ?? 'identity'
      const reader = response.body.getReader()
      const chunks = []
      let ms = Number.NaN
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        chunks.push(value)
        if (Number.isNaN(ms)) {
          const text = decodePrefix(encoding, Buffer.concat(chunks)).toString('latin1')
          if (FIRST_TOKEN.test(text)) ms = performance.now() - t0
        }
      }
      if (encoding !== accept) throw new Error(`in-process: ${accept} answered ${encoding}`)
      return ms
    }
    for (const contender of ttftContenders) {
      for (let i = 0; i < 20; i++) await firstChunk(contender.accept)
    }
    const direct = await interleave(ttftContenders, ttftSamples * 5, (contender) =>
      firstChunk(contender.accept),
    )
    const directBase = direct.get('identity')
    const directBaseMs = median(directBase)
    for (const contender of ttftContenders) {
      const samples = direct.get(contender.name)
      const isBase = contender === identity
      const ms = median(samples)
      rows.push({
        bench,
        metric: 'handler in-process: call to first content chunk (short answer)',
        contender: isBase ? 'unencoded' : contender.name,
        value: ms,
        unit: 'ms',
        ...(isBase
          ? {}
          : {
              ratio: pairedRatio(samples, directBase, (v) => v),
              note: `added ${(ms - directBaseMs).toFixed(3)} ms (difference of medians)`,
            }),
      })
    }

    // 2c. What a flush per event costs in CPU: the paced answer's events (captured unencoded)
    //     through node:zlib with the handler's settings (src/server/http/compress-sse.ts),
    //     one write per event; process CPU, so the thread pool's share is counted.
    const events = await capturedEvents(port)
    const cpu = await interleave(encoded, rounds, async (contender) => {
      const compressor = compressorLike(contender.name)
      compressor.on('data', () => {})
      const before = process.cpuUsage()
      for (const event of events) await new Promise((done) => compressor.write(event, done))
      const used = process.cpuUsage(before)
      compressor.destroy()
      return (used.user + used.system) / events.length
    })
    for (const contender of encoded) {
      rows.push({
        bench,
        metric: 'compressor CPU per flushed event (handler settings, process CPU)',
        contender: contender.name,
        value: median(cpu.get(contender.name)),
        unit: 'µs',
        note: `${events.length} events`,
      })
    }

    // 3. A cached answer replayed (X-Cache: HIT): the whole answer at once, in 16 KiB batches.
    const filled = await ask(port, '/cached', 'identity')
    if (filled.cache !== 'MISS') throw new Error(`cache fill answered ${filled.cache}`)
    const replay = await interleave(ttftContenders, replaySamples, async (contender) => {
      const result = await ask(port, '/cached', contender.accept)
      check(result, contender.accept)
      if (result.cache !== 'HIT') throw new Error(`replay answered X-Cache ${result.cache}`)
      return result
    })
    const replayBase = replay.get('identity')
    for (const contender of ttftContenders) {
      const samples = replay.get(contender.name)
      const isBase = contender === identity
      rows.push({
        bench,
        metric: `cached replay (${words.toLocaleString('en-US')} tokens, X-Cache: HIT): bytes on the wire`,
        contender: isBase ? 'unencoded' : contender.name,
        value: median(samples.map((s) => s.wireBytes)),
        unit: 'B',
        ...(isBase ? {} : { ratio: pairedRatio(samples, replayBase, (s) => s.wireBytes) }),
      })
    }
    for (const contender of ttftContenders) {
      const samples = replay.get(contender.name)
      const isBase = contender === identity
      rows.push({
        bench,
        metric: 'cached replay: whole answer over loopback (request to last byte decoded)',
        contender: isBase ? 'unencoded' : contender.name,
        value: median(samples.map((s) => s.totalMs)),
        unit: 'ms',
        ...(isBase ? {} : { ratio: pairedRatio(samples, replayBase, (s) => s.totalMs) }),
      })
    }
    notes.push(
      `handler on @hono/node-server over loopback, emulator in-process; a node:http client per request (no keep-alive) decoding synchronously as chunks arrive; ratios are medians of per-round ratios to unencoded; ${rounds} paced round(s) of ${words} tokens at ${tokenDelayMs} ms/token, ${ttftSamples} short answers over HTTP and ${ttftSamples * 5} in-process, ${replaySamples} replays per contender, interleaved; offered here: ${offered.join(', ')}`,
    )
  } finally {
    httpServer.close()
    httpServer.closeAllConnections?.()
  }
  return { rows, notes, missing: [] }
}
