// The concurrent streaming load shared by the concurrency and many-cores suites: the emulator in a
// process of its own, each server in its own, and this process as the client opening N streams at
// once over loopback (node:http, no keep-alive), recording first-event and inter-event times.
import http from 'node:http'
import { fileURLToPath } from 'node:url'
import { ask, startChild } from './children.mjs'
import { percentile } from './stats.mjs'

export const libFile = (name) => fileURLToPath(new URL(`./${name}`, import.meta.url))

const BODY = JSON.stringify({
  messages: [{ role: 'user', content: 'Tell me a story.' }],
  stream: true,
})

const requestOptions = (port, agent) => ({
  host: '127.0.0.1',
  port,
  method: 'POST',
  path: '/api/copilot',
  agent,
  headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) },
})

/** The Workers AI emulator in its own process, pacing `tokens` every `tokenDelayMs` per stream. */
export function startEmulator(tokens, tokenDelayMs) {
  return startChild(libFile('emulator-child.mjs'), [String(tokens), String(tokenDelayMs)])
}

/**
 * One contender ('ours', 'before', 'naive', 'aisdk') served against the emulator: one process
 * (server-child.mjs), or with `workers` a node:cluster of that many workers on one port
 * (cluster-child.mjs; `policy` 'rr' or 'none': cluster.SCHED_RR or SCHED_NONE). Both answer `stats` with the CPU and peak RSS of every process serving.
 */
export function startServer(name, emulator, { before, workers, policy = 'rr' } = {}) {
  const args = [
    name,
    emulator.baseURL,
    emulator.accountId,
    emulator.apiKey,
    ...(name === 'before' ? [before] : []),
  ]
  return workers
    ? startChild(libFile('cluster-child.mjs'), [String(workers), policy, ...args], {
        timeoutMs: 60_000,
      })
    : startChild(libFile('server-child.mjs'), args)
}

/**
 * One stream: resolves to { error, first, worstGap, events } (times in ms from the request). The
 * clock starts when the request gets its socket, not when it is created: creating 1,000 requests
 * in one synchronous loop kept this process busy ~150 ms before any of them could connect, and
 * that lag was counted in every stream's first event. Connect time (and any SYN retry) still counts.
 */
function oneStream(agent, port, timeoutMs) {
  return new Promise((resolve) => {
    let t0 = performance.now()
    let first = Number.NaN
    let lastEvent = 0
    let worstGap = 0
    let events = 0
    let done = false
    let settled = false
    let tail = ''
    const finish = (error) => {
      if (settled) return
      settled = true
      resolve({ error, first, worstGap, events })
    }
    const req = http.request(requestOptions(port, agent), (res) => {
      if (res.statusCode !== 200) {
        res.resume()
        finish(`HTTP ${res.statusCode}`)
        return
      }
      res.setEncoding('utf8')
      res.on('data', (text) => {
        const now = performance.now() - t0
        const chunk = tail + text
        tail = chunk.slice(-6)
        if (!chunk.includes('data:')) return // a comment (heartbeat) is not an event
        if (Number.isNaN(first)) first = now
        else worstGap = Math.max(worstGap, now - lastEvent)
        lastEvent = now
        events++
        if (chunk.includes('[DONE]')) done = true
      })
      res.on('end', () => finish(done ? null : 'ended without [DONE]'))
      res.on('error', (e) => finish(e.code ?? e.message))
      res.on('aborted', () => finish('aborted'))
    })
    req.once('socket', () => {
      t0 = performance.now()
    })
    req.setTimeout(timeoutMs, () => {
      req.destroy()
      finish('timeout')
    })
    req.on('error', (e) => finish(e.code ?? e.message))
    req.end(BODY)
  })
}

/** One stream at a time, each closed by the client at its first event: the cost of a stream's start. */
export async function serial(port, count) {
  const agent = new http.Agent({ keepAlive: false })
  const firsts = []
  for (let i = 0; i < count; i++) {
    firsts.push(
      await new Promise((resolve) => {
        const t0 = performance.now()
        const req = http.request(requestOptions(port, agent), (res) => {
          res.setEncoding('utf8')
          res.on('data', (text) => {
            if (!text.includes('data:')) return
            const first = performance.now() - t0
            req.destroy()
            resolve(first)
          })
          res.on('end', () => resolve(Number.NaN))
        })
        req.on('error', () => resolve(Number.NaN))
        req.end(BODY)
      }),
    )
  }
  agent.destroy()
  await new Promise((r) => setTimeout(r, 20)) // let the server see the disconnect
  return firsts
}

/** N streams opened at once: errors, first event p50/p99, worst inter-event gap p99, completed. */
export async function level(port, n, timeoutMs) {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY })
  const results = await Promise.all(
    Array.from({ length: n }, () => oneStream(agent, port, timeoutMs)),
  )
  agent.destroy()
  const ok = results.filter((r) => !r.error)
  const errors = {}
  for (const r of results) if (r.error) errors[r.error] = (errors[r.error] ?? 0) + 1
  const firsts = ok.map((r) => r.first)
  return {
    errors: results.length - ok.length,
    errorKinds: errors,
    completed: ok.length,
    firstP50: percentile(firsts, 50),
    firstP99: percentile(firsts, 99),
    gapP99: percentile(
      ok.map((r) => r.worstGap),
      99,
    ),
  }
}

const cpuMs = (a, b) => (b.user + b.system - a.user - a.system) / 1000

/**
 * One level against one server, with the CPU of each party: the server (every process serving),
 * the emulator and this client, the server's peak RSS, wall time and completed streams per second.
 */
export async function measureLevel(server, emulator, n, timeoutMs) {
  await ask(emulator.child, 'reset')
  await ask(server.child, 'stats', { resetPeak: true })
  const before = await ask(server.child, 'stats')
  const emulatorBefore = await ask(emulator.child, 'stats')
  const clientBefore = process.cpuUsage()
  const t0 = performance.now()
  const result = await level(server.port, n, timeoutMs)
  result.wallMs = performance.now() - t0
  const clientCpu = process.cpuUsage(clientBefore)
  const emulatorAfter = await ask(emulator.child, 'stats')
  const after = await ask(server.child, 'stats')
  result.streamsPerSecond = result.completed / (result.wallMs / 1000)
  result.emulatorCpuMs = cpuMs(emulatorBefore.cpu, emulatorAfter.cpu)
  result.clientCpuMs = (clientCpu.user + clientCpu.system) / 1000
  result.peakRss = after.peakRss
  result.cpuMs = cpuMs(before.cpu, after.cpu)
  // One server process (server-child.mjs): when it accepted the connection 99% of the streams
  // waited for, from its first accept, and the CPU it spent until then.
  if (after.accepts?.length >= n) {
    const late = after.accepts[Math.ceil(n * 0.99) - 1]
    const [time, cpu] = after.accepts[0]
    result.acceptP99Ms = late[0] - time
    result.acceptP99CpuMs = late[1] - cpu
  }
  if (before.primaryCpu) {
    result.primaryCpuMs = cpuMs(before.primaryCpu, after.primaryCpu)
    result.workersCpuMs = after.workersCpu.map((cpu, i) => cpuMs(before.workersCpu[i], cpu))
  }
  return result
}
