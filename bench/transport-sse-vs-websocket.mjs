// SSE against a WebSocket for streaming an answer (issue 13 §2: a WebSocket transport only if a
// measurement shows SSE falling short). Run by hand, not part of `npm run bench`: `ws` is only a
// transitive dependency here, never one of ours. `node bench/transport-sse-vs-websocket.mjs`.
//
// One node:http server on 127.0.0.1 serves both: `POST /sse` answers text/event-stream, and an
// upgrade to a WebSocket (`ws`, no per-message compression) answers a request message with one
// message per event. The events are the same chat.completion.chunk JSON our handler writes; SSE
// frames each as `id: n\ndata: …\n\n` (what resume needs), the WebSocket sends the JSON alone.
// Client and server share the process (CPU is both sides). Contenders alternate, medians.

import { once } from 'node:events'
import http from 'node:http'
import { createRequire } from 'node:module'
import { chunkEvent } from './lib/sse-body.mjs'
import { median, pairedRatio } from './lib/stats.mjs'

const require = createRequire(import.meta.url)
const { WebSocket, WebSocketServer } = require('ws')

const TOKENS = Number(process.env.TOKENS ?? 2_000)
const COLD = Number(process.env.COLD ?? 200)
const STREAMS = Number(process.env.STREAMS ?? 15)

const sseEvent = (i) => chunkEvent(i, ` t${i % 10}`)
const wsEvent = (i) => sseEvent(i).slice(sseEvent(i).indexOf('data: ') + 6, -2)

/** Writes `tokens` events with `write`, yielding to the loop every 64 so both sides interleave. */
async function produce(tokens, write) {
  for (let i = 0; i < tokens; i++) {
    write(i)
    if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve))
  }
}

const server = http.createServer(async (req, res) => {
  const tokens = Number(new URL(req.url, 'http://x').searchParams.get('tokens') ?? TOKENS)
  for await (const _ of req) {
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  await produce(tokens, (i) => res.write(sseEvent(i)))
  res.end('data: [DONE]\n\n')
})
const wss = new WebSocketServer({ server, perMessageDeflate: false })
wss.on('connection', (socket) => {
  socket.on('message', async (data) => {
    const { tokens } = JSON.parse(String(data))
    await produce(tokens, (i) => socket.send(wsEvent(i)))
    socket.send('[DONE]')
  })
})
server.listen(0, '127.0.0.1')
await once(server, 'listening')
const { port } = server.address()
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 })

/** One SSE answer: POST, read to [DONE]. First event time, total time, bytes read off the socket. */
function sse(tokens, agent) {
  return new Promise((resolve, reject) => {
    const start = performance.now()
    let first = 0
    let tail = ''
    const req = http.request(
      { host: '127.0.0.1', port, path: `/sse?tokens=${tokens}`, method: 'POST', agent },
      (res) => {
        res.setEncoding('utf8')
        res.on('data', (text) => {
          if (!first && text.includes('data: ')) first = performance.now() - start
          tail = (tail + text).slice(-32)
        })
        res.on('end', () => {
          if (!tail.endsWith('data: [DONE]\n\n')) reject(new Error('SSE: no [DONE]'))
          resolve({ first, total: performance.now() - start, bytes: socket.bytesRead - before })
        })
      },
    )
    let socket
    let before = 0
    req.once('socket', (s) => {
      socket = s
      before = s.bytesRead // a reused keep-alive socket counts what it read before
    })
    req.on('error', reject)
    req.setHeader('content-type', 'application/json')
    req.end(JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], stream: true }))
  })
}

/** One WebSocket answer on `socket` (or a new connection): send the request, read to [DONE]. */
function ws(tokens, open) {
  return new Promise((resolve, reject) => {
    const start = performance.now()
    const socket = open ?? new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false })
    let first = 0
    const before = open ? socket._socket.bytesRead : 0
    const onMessage = (data) => {
      if (!first) first = performance.now() - start
      if (String(data) === '[DONE]') {
        socket.off('message', onMessage)
        socket.off('error', reject)
        const bytes = socket._socket.bytesRead - before
        if (!open) socket.close()
        resolve({ first, total: performance.now() - start, bytes })
      }
    }
    socket.on('message', onMessage)
    socket.once('error', reject)
    const send = () =>
      socket.send(JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], tokens }))
    if (open) send()
    else socket.once('open', send)
  })
}

async function alternate(rounds, a, b) {
  const samples = { a: [], b: [] }
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      samples.a.push(await a())
      samples.b.push(await b())
    } else {
      samples.b.push(await b())
      samples.a.push(await a())
    }
  }
  return samples
}

function cpu(fn) {
  return async () => {
    const before = process.cpuUsage()
    const result = await fn()
    const used = process.cpuUsage(before)
    return { ...result, cpuMs: (used.user + used.system) / 1000 }
  }
}

const fmt = (v, unit) => `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v)} ${unit}`
const rows = []
function row(metric, samples, field, unit) {
  const ratio = pairedRatio(samples.a, samples.b, (s) => s[field])
  rows.push([
    metric,
    fmt(median(samples.a.map((s) => s[field])), unit),
    fmt(median(samples.b.map((s) => s[field])), unit),
    `${ratio.toFixed(2)}x`,
  ])
}

// Warm-up.
const open = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false })
await once(open, 'open')
for (let i = 0; i < 20; i++) {
  await sse(50)
  await ws(50)
  await sse(50, keepAlive)
  await ws(50, open)
}

const cold = await alternate(
  COLD,
  () => sse(1),
  () => ws(1),
)
row('first event, new connection (1-token answer)', cold, 'first', 'ms')
const warm = await alternate(
  COLD,
  () => sse(1, keepAlive),
  () => ws(1, open),
)
row('first event, connection reused', warm, 'first', 'ms')
const long = await alternate(
  STREAMS,
  cpu(() => sse(TOKENS, keepAlive)),
  cpu(() => ws(TOKENS, open)),
)
row(`wall time, ${TOKENS.toLocaleString('en-US')}-token answer`, long, 'total', 'ms')
row(`CPU (both sides), ${TOKENS.toLocaleString('en-US')}-token answer`, long, 'cpuMs', 'ms')
row(`bytes received, ${TOKENS.toLocaleString('en-US')}-token answer`, long, 'bytes', 'B')

open.close()
keepAlive.destroy()
wss.close()
server.close()

const load = (await import('node:os')).loadavg().map((l) => l.toFixed(1))
console.log(
  `SSE vs WebSocket on loopback, Node ${process.version}, ws ${require('ws/package.json').version}, load ${load.join(' ')}`,
)
console.log(
  `${COLD} short answers per row alternating; ${STREAMS} long answers; medians; ratio = median of paired SSE/WebSocket`,
)
console.log('| metric | SSE | WebSocket | SSE / WebSocket |')
console.log('| --- | ---: | ---: | ---: |')
for (const r of rows) console.log(`| ${r.join(' | ')} |`)
