#!/usr/bin/env node
// Soak: `npm run soak` (20,000 requests, at most 3 min) or `npm run soak -- --short` (≈2,000, < 30 s).
// One copilotedge server process (built package, imported by name like a user, served with
// @hono/node-server) in front of the Workers AI emulator over loopback; this process drives a fixed
// mix of streams, aborts mid-stream, cache hits, bad input and upstream faults with bounded
// concurrency, with the rate limit and CORS on; then reports outcomes by kind, the server's active
// handles at boot and at the end, and its RSS and heap. Exits non-zero on any unexpected outcome, a
// leaked handle, RSS more than 20 MB above the start, or a run over the time limit.
//
// How memory is measured: "start" is taken after a warm-up of another quarter of the requests (on
// top of the measured ones), "end" after the load, at rest; both after two full GCs. The server runs
// with MALLOC_ARENA_MAX=2 (a common production setting for Node on glibc): with glibc's default of
// one malloc arena per thread, memory freed after the peak of the load stays in the process, and RSS
// then measures the allocator's high-water mark rather than what the server holds. The heap figures
// (reported too) are the leak signal; a 60,000-request run levels off at the same RSS as this one.
// Run `npm run build` first.
import { fork } from 'node:child_process'
import http from 'node:http'
import { fileURLToPath } from 'node:url'

const SELF = fileURLToPath(import.meta.url)
const TOKENS = 16
const EXPECTED_TEXT = Array.from({ length: TOKENS }, (_, i) => `tok${i} `).join('')
const MODEL = '@cf/meta/llama-3.1-8b-instruct'
const ORIGIN = 'https://soak.example'
/** Requests sent again after a stale keep-alive socket (see post). */
let stale = 0

if (process.argv.includes('--server-child')) await serverChild()
else await driver()

// ---------------------------------------------------------------------------------------------
// The server process: only copilotedge and its HTTP adapter live here, so its handles are ours.

async function serverChild() {
  const { createCopilotEdgeHandler } = await importBuilt('copilotedge')
  const { serve } = await import('@hono/node-server')
  const logLines = { debug: 0, warn: 0, error: 0 }
  const handler = createCopilotEdgeHandler({
    apiKey: process.env.SOAK_API_TOKEN,
    accountId: process.env.SOAK_ACCOUNT_ID,
    baseURL: process.env.SOAK_BASE_URL,
    retry: { maxAttempts: 2, baseDelayMs: 2, maxDelayMs: 10, maxRetryAfterMs: 50 },
    // Well above any event-loop lag of a loaded 2-core machine: only the stall faults time out.
    timeoutMs: 1000,
    idleTimeoutMs: 1000,
    heartbeatMs: 0,
    // The guards on, as in front of a paid API: per-IP limit (20 burst, 20/s) and CORS.
    rateLimit: { capacity: 20, refillPerSecond: 20 },
    cors: { origins: [ORIGIN] },
    logger: {
      debug: () => logLines.debug++,
      warn: () => logLines.warn++,
      error: () => logLines.error++,
    },
  })
  const server = serve({ fetch: handler, port: 0, hostname: '127.0.0.1' })
  await new Promise((resolve) => server.once('listening', resolve))
  const stats = async () => {
    // Two collections with a turn of the event loop between: RSS after garbage, not before.
    for (let i = 0; i < 2; i++) {
      globalThis.gc?.()
      await new Promise((resolve) => setImmediate(resolve))
    }
    const resources = {}
    for (const name of process.getActiveResourcesInfo())
      resources[name] = (resources[name] ?? 0) + 1
    const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage()
    return {
      rss,
      heapUsed,
      heapTotal,
      external,
      arrayBuffers,
      resources,
      logLines: { ...logLines },
    }
  }
  process.on('message', async (message) => {
    if (message === 'stats') process.send({ type: 'stats', stats: await stats() })
    if (typeof message === 'object' && message.snapshot) {
      // Diagnostics only (SOAK_HEAP_SNAPSHOTS=dir): what the heap holds at that moment.
      const { writeHeapSnapshot } = await import('node:v8')
      const file = writeHeapSnapshot(message.snapshot)
      if (!message.quiet) process.send({ type: 'snapshot', file })
    }
    if (message === 'close') {
      server.close(() => process.exit(0))
      server.closeAllConnections?.()
    }
  })
  // The driver died (or was killed): never outlive it.
  process.on('disconnect', () => process.exit(0))
  process.send({ type: 'ready', port: server.address().port })
}

// ---------------------------------------------------------------------------------------------
// The driver: the emulator (upstream) and the clients.

async function driver() {
  const short = process.argv.includes('--short')
  const requestsFlag = process.argv.indexOf('--requests')
  const total = requestsFlag > 0 ? Number(process.argv[requestsFlag + 1]) : short ? 2_000 : 20_000
  const concurrency = short ? 32 : 64
  // The whole run, warm-up included.
  const deadlineMs = short ? 30_000 : Math.max(180_000, total * 9)
  const t0 = Date.now()
  const { createWorkersAIEmulator } = await importBuilt('copilotedge/testing')
  const { createParser } = await import('eventsource-parser')

  const emulator = createWorkersAIEmulator({ tokens: TOKENS, tokenDelayMs: 1 })
  const upstream = await emulator.listen({ port: 0 })
  const child = fork(SELF, ['--server-child'], {
    execArgv: ['--expose-gc'],
    env: {
      ...process.env,
      SOAK_API_TOKEN: emulator.apiToken,
      SOAK_ACCOUNT_ID: emulator.accountId,
      SOAK_BASE_URL: upstream.baseURL,
      MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const messages = []
  const waiters = []
  child.on('message', (m) => {
    const w = waiters.shift()
    if (w) w(m)
    else messages.push(m)
  })
  const next = () =>
    new Promise((resolve) => (messages.length ? resolve(messages.shift()) : waiters.push(resolve)))
  const stats = async () => {
    child.send('stats')
    return (await next()).stats
  }
  /** Stats once the server's handles are back to `baseline` (sockets take a moment to close), or after 10 s. */
  const settledStats = async (baseline) => {
    let last
    for (let tries = 0; tries < 40; tries++) {
      last = await stats()
      if (sameHandles(baseline.resources, last.resources)) break
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    return last
  }
  const ready = await next()
  const url = `http://127.0.0.1:${ready.port}/`
  let agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })

  const boot = await stats()
  const outcomes = new Map()
  const unexpected = []
  const count = (kind) => outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1)
  const POOL = 8
  const FAULTS = [
    { type: 'status', status: 503 },
    { type: 'status', status: 429, retryAfter: 0 },
    { type: 'status', status: 500 },
    { type: 'reset' },
    { type: 'stall', ms: 3000 },
    { type: 'drop', afterTokens: 3 },
    { type: 'stall-mid-stream', afterTokens: 3, ms: 3000 },
    { type: 'malformed', afterTokens: 2 },
    { type: 'json-for-stream' },
    { type: 'error-frame', afterTokens: 2 },
  ]
  let faultsQueued = 0
  let clientAborts = 0

  /** One request of the mix; `i` picks its kind, so every run has the same mix. */
  async function one(i, warm) {
    const slot = i % 20
    let kind
    let stream = i % 2 === 0
    let prompt = `unique ${i} ${warm ? 'warm' : 'run'}`
    let body
    // Clients: one of 50,000 addresses (more than the limiter's 10,000 buckets, so its LRU bound is
    // exercised), each far below the limit; the 'flood' client sends a tenth of all requests.
    let ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
    if (slot < 6) kind = 'fresh'
    else if (slot < 8) {
      kind = 'flood'
      ip = '192.0.2.1'
      prompt = `pool ${i % POOL}`
    } else if (slot < 13) {
      kind = 'hit'
      prompt = `pool ${i % POOL}`
    } else if (slot < 16) {
      kind = 'abort'
      stream = true
    } else if (slot < 19) {
      kind = 'fault'
      emulator.fault(FAULTS[((i / 20) % FAULTS.length) | 0])
      faultsQueued++
    } else {
      kind = 'bad'
      body = JSON.stringify({ messages: [{ role: 'wizard', content: prompt }], stream })
    }
    body ??= JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: prompt }], stream })
    const controller = new AbortController()
    const deadline = setTimeout(() => controller.abort(new Error('client deadline')), 15_000)
    try {
      const res = await post(url, body, agent, controller.signal, {
        Origin: ORIGIN,
        'CF-Connecting-IP': ip,
      })
      if (res.headers['access-control-allow-origin'] !== ORIGIN) {
        await drain(res)
        return 'missing-cors-headers'
      }
      if (kind === 'bad') {
        await drain(res)
        return res.statusCode === 400 ? 'bad-400' : `bad-got-${res.statusCode}`
      }
      if (res.statusCode !== 200) {
        const error = JSON.parse(await text(res)).error
        if (res.statusCode === 429 && error?.code === 'rate_limited') {
          return kind === 'flood' ? 'rate-limited-flood' : 'rate-limited-normal-client'
        }
        if ([429, 502, 504].includes(res.statusCode)) return `http-${res.statusCode}`
        return `unexpected-http-${res.statusCode}`
      }
      const hit = res.headers['x-cache'] === 'HIT'
      if (!stream) {
        const json = JSON.parse(await text(res))
        if (json.choices?.[0]?.message?.content !== EXPECTED_TEXT) return 'wrong-text'
        return hit ? 'ok-json-hit' : 'ok-json'
      }
      const result = await readStream(res, createParser, kind === 'abort' ? controller : null)
      if (result === 'aborted') {
        clientAborts++
        return 'aborted-by-client'
      }
      if (result === 'in-stream-error') return 'in-stream-error'
      if (result === 'truncated') return 'truncated-without-error'
      if (result !== EXPECTED_TEXT) return 'wrong-text'
      return hit ? 'ok-stream-hit' : 'ok-stream'
    } catch (error) {
      if (controller.signal.aborted && kind === 'abort') {
        clientAborts++
        return 'aborted-by-client'
      }
      if (controller.signal.aborted) return 'client-deadline'
      return `network-error:${error.code ?? error.message}`
    } finally {
      clearTimeout(deadline)
    }
  }

  // Expected outcomes. A fault is taken by whichever request reaches the upstream next, so any
  // request that reaches it may see one; their total is checked against the faults consumed.
  const FAULT_OUTCOMES = new Set(['http-429', 'http-502', 'http-504', 'in-stream-error'])
  const OK = new Set([
    'ok-json',
    'ok-stream',
    'ok-json-hit',
    'ok-stream-hit',
    'bad-400',
    'aborted-by-client',
    'rate-limited-flood',
    ...FAULT_OUTCOMES,
  ])

  async function run(from, to, warm) {
    let nextIndex = from
    const started = Date.now()
    const worker = async () => {
      while (nextIndex < to) {
        const i = nextIndex++
        const outcome = await one(i, warm)
        count(outcome)
        if (!OK.has(outcome) && unexpected.length < 20) unexpected.push({ i, outcome })
        if (Date.now() - t0 > deadlineMs) throw new Error('soak overtime')
      }
    }
    const progress = setInterval(() => {
      const done = nextIndex - from
      process.stderr.write(
        `soak: ${done}/${to - from} started, ${Math.round((Date.now() - started) / 1000)} s\n`,
      )
    }, 5000)
    try {
      await Promise.all(Array.from({ length: concurrency }, worker))
    } finally {
      clearInterval(progress)
    }
  }

  // Warm-up (on top of the measured requests): fills the cache, the limiter's buckets and the
  // allocator's high-water mark, and loads every code path before the start figures are taken.
  const warmup = total / 4
  let overtime = false
  try {
    await run(0, warmup, true)
  } catch {
    overtime = true
  }
  // Client connections closed before each measurement: what stays open is the server's own.
  agent.destroy()
  agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
  const start = await settledStats(boot)
  const snapshotDir = process.env.SOAK_HEAP_SNAPSHOTS
  if (snapshotDir) {
    child.send({ snapshot: `${snapshotDir}/start.heapsnapshot` })
    await next()
  }
  const t1 = Date.now()
  // Heap and RSS every few seconds under load: a leak climbs, a bounded cache levels off.
  const samples = []
  const sampler = setInterval(
    async () => {
      const s = await stats()
      if (snapshotDir && samples.length === 5) {
        child.send({ snapshot: `${snapshotDir}/load.heapsnapshot`, quiet: true })
      }
      samples.push({
        s: Math.round((Date.now() - t1) / 1000),
        rssMB: mb(s.rss),
        heapMB: mb(s.heapUsed),
        heapTotalMB: mb(s.heapTotal),
      })
    },
    short ? 3000 : 10_000,
  )
  try {
    if (!overtime) await run(warmup, warmup + total, false)
  } catch {
    overtime = true
  } finally {
    clearInterval(sampler)
  }
  const durationMs = Date.now() - t1
  await emulator.idle()
  const faultsTaken = emulator.requests.filter((r) => r.fault !== null).length
  const upstreamAborted = emulator.requests.filter((r) => r.aborted).length

  // Release every connection that is ours to release, then let the server settle.
  agent.destroy()
  await upstream.close()
  let end = await settledStats(boot)
  // At rest, V8's memory reducer gives back the heap pages the peak committed; wait for it (bounded).
  const rest = []
  const restUntil = Date.now() + (short ? 8_000 : 30_000)
  while (end.rss - start.rss > 20 * 2 ** 20 && Date.now() < restUntil) {
    await new Promise((resolve) => setTimeout(resolve, 1000))
    end = await stats()
    rest.push(mb(end.rss))
  }
  if (snapshotDir) {
    child.send({ snapshot: `${snapshotDir}/end.heapsnapshot` })
    await next()
  }
  child.send('close')
  await new Promise((resolve) => child.once('exit', resolve))

  const faultOutcomes = [...outcomes].reduce((n, [k, v]) => n + (FAULT_OUTCOMES.has(k) ? v : 0), 0)
  const rssGrowthMB = (end.rss - start.rss) / 2 ** 20
  const report = {
    mode: short ? 'short' : 'full',
    requests: total,
    warmupRequests: warmup,
    concurrency,
    durationMs,
    totalMs: Date.now() - t0,
    outcomes: Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])),
    unexpected,
    faults: {
      queued: faultsQueued,
      takenByUpstreamCalls: faultsTaken,
      seenByClients: faultOutcomes,
    },
    aborts: { byClient: clientAborts, upstreamRequestsAborted: upstreamAborted },
    staleKeepAliveResent: stale,
    handles: { boot: boot.resources, start: start.resources, end: end.resources },
    rssMB: {
      boot: mb(boot.rss),
      start: mb(start.rss),
      end: mb(end.rss),
      growth: round(rssGrowthMB),
    },
    heapUsedMB: { boot: mb(boot.heapUsed), start: mb(start.heapUsed), end: mb(end.heapUsed) },
    heapTotalMB: { boot: mb(boot.heapTotal), start: mb(start.heapTotal), end: mb(end.heapTotal) },
    underLoad: samples,
    rssAtRestMB: rest,
    externalMB: { boot: mb(boot.external), start: mb(start.external), end: mb(end.external) },
    serverLogLines: end.logLines,
  }
  const failures = []
  const unexpectedCount = [...outcomes].reduce((n, [k, v]) => n + (OK.has(k) ? 0 : v), 0)
  if (unexpectedCount > 0) failures.push(`${unexpectedCount} unexpected outcomes`)
  if (faultOutcomes > faultsTaken) failures.push('more failures than faults taken upstream')
  if (!sameHandles(boot.resources, end.resources)) failures.push('leaked handles')
  if (rssGrowthMB > 20) failures.push(`RSS grew ${round(rssGrowthMB)} MB`)
  if (overtime) failures.push(`over the ${deadlineMs / 1000} s limit`)
  report.goalsMet = failures.length === 0
  report.failures = failures
  console.log(JSON.stringify(report, null, 2))
  process.exit(failures.length ? 1 : 0)
}

/** The built package, by name (Node resolves a package's own name through its exports map). */
async function importBuilt(name) {
  try {
    return await import(name)
  } catch (error) {
    if (error.code === 'ERR_MODULE_NOT_FOUND') {
      console.error(`soak: cannot import ${name}: run \`npm run build\` first.`)
      process.exit(1)
    }
    throw error
  }
}

function sameHandles(a, b) {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  for (const k of keys) if ((a[k] ?? 0) !== (b[k] ?? 0)) return false
  return true
}

function mb(bytes) {
  return round(bytes / 2 ** 20)
}

function round(n) {
  return Math.round(n * 10) / 10
}

function post(url, body, agent, signal, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      agent,
      headers: {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
        ...headers,
      },
    })
    // Destroyed without an error object: the socket closes quietly, a pending read fails.
    const abort = () => req.destroy()
    if (signal.aborted) abort()
    else signal.addEventListener('abort', abort, { once: true })
    req.on('close', () => signal.removeEventListener('abort', abort))
    req.on('response', resolve)
    req.on('error', (error) => {
      // A keep-alive socket the server closed as idle just as this request went out on it: Node's
      // documented race (http.ClientRequest reusedSocket). The server never saw the request, so the
      // client sends it again on a new socket, as Node's docs advise; counted apart in the report.
      if (req.reusedSocket && error.code === 'ECONNRESET' && !signal.aborted) {
        stale++
        const retry = http.request(url, {
          method: 'POST',
          agent: false,
          headers: {
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(body),
            ...headers,
          },
        })
        signal.addEventListener('abort', () => retry.destroy(), { once: true })
        retry.on('response', resolve)
        retry.on('error', reject)
        retry.end(body)
        return
      }
      reject(error)
    })
    req.end(body)
  })
}

function drain(res) {
  return new Promise((resolve, reject) => {
    res.on('error', reject)
    res.on('end', resolve)
    res.resume()
  })
}

async function text(res) {
  let out = ''
  res.setEncoding('utf8')
  for await (const chunk of res) out += chunk
  return out
}

/**
 * Reads an SSE answer: the content text if it ended with `[DONE]`, `'in-stream-error'`,
 * `'truncated'` (ended with neither), or `'aborted'` when `abortAfterFirst` was given and used.
 */
async function readStream(res, createParser, abortAfterFirst) {
  let content = ''
  let done = false
  let error = false
  let aborted = false
  const parser = createParser({
    onEvent(event) {
      if (event.data === '[DONE]') {
        done = true
        return
      }
      const chunk = JSON.parse(event.data)
      if (chunk.error) error = true
      content += chunk.choices?.[0]?.delta?.content ?? ''
    },
  })
  res.setEncoding('utf8')
  try {
    for await (const chunk of res) {
      parser.feed(chunk)
      if (abortAfterFirst && content.length > 0) {
        aborted = true
        abortAfterFirst.abort()
      }
    }
  } catch (e) {
    if (!aborted) throw e
  }
  if (aborted) return 'aborted'
  if (error) return 'in-stream-error'
  if (!done) return 'truncated'
  return content
}
