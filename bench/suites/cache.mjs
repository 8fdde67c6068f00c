// Benchmark 4: cache. In-process: `handleRequest` on a cached question (median µs) vs the same
// question answered fresh by the in-process emulator. Over loopback HTTP (@hono/node-server, the
// emulator listening too): a cached answer (X-Cache: HIT) vs a fresh one (Cache-Control: no-cache).
import { serve } from '@hono/node-server'
import { loadOurs } from '../lib/ours.mjs'
import { median } from '../lib/stats.mjs'

const QUESTION = { messages: [{ role: 'user', content: 'What is JavaScript?' }] }

async function timeEach(count, fn) {
  const samples = []
  for (let i = 0; i < count; i++) {
    const t0 = performance.now()
    await fn()
    samples.push(performance.now() - t0)
  }
  return samples
}

export async function run({ quick }) {
  const missing = []
  const [server, testing] = await Promise.all([loadOurs('.'), loadOurs('testing')])
  const CopilotEdge = server.module?.CopilotEdge
  const createEmulator = testing.module?.createWorkersAIEmulator
  if (typeof CopilotEdge !== 'function')
    missing.push(server.missing ?? 'CopilotEdge is not exported yet')
  if (typeof createEmulator !== 'function')
    missing.push(testing.missing ?? 'createWorkersAIEmulator is not exported yet')
  if (missing.length > 0) return { rows: [], notes: [], missing }

  const bench = '4 cache'
  const rows = []
  const inProcess = quick ? 2_000 : 20_000
  const overHttp = quick ? 100 : 500
  // A 50-token answer: a realistic short FAQ reply.
  const emulator = createEmulator({ tokens: 50 })
  const config = {
    apiKey: emulator.apiToken,
    accountId: emulator.accountId,
    baseURL: emulator.baseURL,
    fetch: emulator.fetchImpl,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  }
  const cached = new CopilotEdge({ ...config })
  const fresh = new CopilotEdge({ ...config, cache: false })
  await cached.handleRequest({ ...QUESTION, stream: false }) // fills the cache
  // Warm-up, then interleave in blocks so both see the same machine state.
  await timeEach(500, () => cached.handleRequest({ ...QUESTION, stream: false }))
  await timeEach(50, () => fresh.handleRequest({ ...QUESTION, stream: false }))
  const hit = []
  const miss = []
  const blocks = 10
  for (let b = 0; b < blocks; b++) {
    hit.push(
      ...(await timeEach(inProcess / blocks, () =>
        cached.handleRequest({ ...QUESTION, stream: false }),
      )),
    )
    miss.push(
      ...(await timeEach(inProcess / blocks / 20, () =>
        fresh.handleRequest({ ...QUESTION, stream: false }),
      )),
    )
    emulator.reset()
  }
  const hitUs = median(hit) * 1000
  const missUs = median(miss) * 1000
  rows.push({
    bench,
    metric: 'handleRequest, in-process',
    contender: 'ours: cached answer',
    value: hitUs,
    unit: 'µs',
    goal: '< 50 µs median',
    met: hitUs < 50,
  })
  rows.push({
    bench,
    metric: 'handleRequest, in-process',
    contender: 'ours: fresh (emulator, 50 tokens)',
    value: missUs,
    unit: 'µs',
    ratio: hitUs / missUs,
  })

  // Over loopback HTTP: the emulator listens, the handler is served by @hono/node-server.
  const upstream = await emulator.listen({ port: 0, host: '127.0.0.1' })
  const edge = new CopilotEdge({
    ...config,
    baseURL: upstream.baseURL,
    fetch: undefined,
    stream: true,
  })
  const handler = edge.createNextHandler()
  const httpServer = await new Promise((resolve) => {
    const s = serve({ fetch: handler, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  const url = `http://127.0.0.1:${httpServer.address().port}/api/copilot`
  const ask = async (headers) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ ...QUESTION, stream: true }),
    })
    const text = await response.text()
    if (!response.ok || !text.includes('[DONE]'))
      throw new Error(`HTTP ${response.status}: ${text.slice(0, 200)}`)
    return response.headers.get('x-cache')
  }
  try {
    await ask({}) // fills the cache
    for (let i = 0; i < 20; i++) {
      await ask({})
      await ask({ 'cache-control': 'no-cache' })
    }
    const hits = []
    const misses = []
    let cacheHeaders = new Set()
    for (let i = 0; i < overHttp; i++) {
      let t0 = performance.now()
      cacheHeaders.add(await ask({}))
      hits.push(performance.now() - t0)
      t0 = performance.now()
      await ask({ 'cache-control': 'no-cache' })
      misses.push(performance.now() - t0)
      if (i % 100 === 99) emulator.reset()
    }
    cacheHeaders = [...cacheHeaders].join(',')
    const hitMs = median(hits)
    const missMs = median(misses)
    rows.push({
      bench,
      metric: 'whole SSE answer over loopback HTTP',
      contender: 'ours: cached answer (replayed)',
      value: hitMs,
      unit: 'ms',
      note: cacheHeaders === 'HIT' ? 'X-Cache: HIT' : `X-Cache was ${cacheHeaders}`,
    })
    rows.push({
      bench,
      metric: 'whole SSE answer over loopback HTTP',
      contender: 'ours: fresh (Cache-Control: no-cache)',
      value: missMs,
      unit: 'ms',
      ratio: hitMs / missMs,
    })
  } finally {
    httpServer.close()
    httpServer.closeAllConnections?.()
    await upstream.close()
  }
  const notes = [
    `in-process: ${inProcess.toLocaleString('en-US')} cached calls, ${(inProcess / 20).toLocaleString('en-US')} fresh, in interleaved blocks; HTTP: ${overHttp} of each, alternating, undici keep-alive client`,
  ]
  return { rows, notes, missing }
}
