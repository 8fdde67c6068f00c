// Benchmark 5: concurrency. Each contender is served on node:http (@hono/node-server) in its own
// process; the emulator runs in another, pacing tokens every 20 ms; this process is the client:
// N concurrent streams over loopback, recording first-event and inter-event times per stream.
import http from 'node:http'
import { fileURLToPath } from 'node:url'
import { ask, startChild, stopAllChildren } from '../lib/children.mjs'
import { MiB, percentile } from '../lib/stats.mjs'

const lib = (name) => fileURLToPath(new URL(`../lib/${name}`, import.meta.url))
const BODY = JSON.stringify({
  messages: [{ role: 'user', content: 'Tell me a story.' }],
  stream: true,
})

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
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/copilot',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) },
      },
      (res) => {
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
      },
    )
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
async function serial(port, count) {
  const agent = new http.Agent({ keepAlive: false })
  const firsts = []
  for (let i = 0; i < count; i++) {
    firsts.push(
      await new Promise((resolve) => {
        const t0 = performance.now()
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/api/copilot',
            agent,
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(BODY),
            },
          },
          (res) => {
            res.setEncoding('utf8')
            res.on('data', (text) => {
              if (!text.includes('data:')) return
              const first = performance.now() - t0
              req.destroy()
              resolve(first)
            })
            res.on('end', () => resolve(Number.NaN))
          },
        )
        req.on('error', () => resolve(Number.NaN))
        req.end(BODY)
      }),
    )
  }
  agent.destroy()
  await new Promise((r) => setTimeout(r, 20)) // let the server see the disconnect
  return firsts
}

async function level(port, n, timeoutMs) {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY })
  const results = await Promise.all(
    Array.from({ length: n }, () => oneStream(agent, port, timeoutMs)),
  )
  agent.destroy()
  const ok = results.filter((r) => !r.error)
  const errors = {}
  for (const r of results) if (r.error) errors[r.error] = (errors[r.error] ?? 0) + 1
  return {
    errors: results.length - ok.length,
    errorKinds: errors,
    firstP50: percentile(
      ok.map((r) => r.first),
      50,
    ),
    firstP99: percentile(
      ok.map((r) => r.first),
      99,
    ),
    gapP99: percentile(
      ok.map((r) => r.worstGap),
      99,
    ),
  }
}

export async function run({ quick }) {
  const levels = quick ? [100] : [100, 1_000, 2_000]
  const tokens = quick ? 10 : 50
  const tokenDelayMs = 20
  const names = [
    { name: 'ours', label: 'ours: handler on @hono/node-server' },
    { name: 'naive', label: 'naive pass-through' },
    // Quick mode (CI) leaves the AI SDK out: its process alone takes seconds to start.
    ...(quick ? [] : [{ name: 'aisdk', label: 'AI SDK route (streamText)' }]),
  ]
  const rows = []
  const missing = []
  const bench = '5 concurrency'
  let measured
  try {
    const emulator = await startChild(lib('emulator-child.mjs'), [
      String(tokens),
      String(tokenDelayMs),
    ])
    const servers = []
    for (const c of names) {
      try {
        const s = await startChild(lib('server-child.mjs'), [
          c.name,
          emulator.baseURL,
          emulator.accountId,
          emulator.apiKey,
        ])
        servers.push({ ...c, ...s })
      } catch (error) {
        missing.push(`${c.label}: ${error.message}`)
      }
    }
    for (const s of servers) await level(s.port, 20, 30_000) // warm-up
    // One stream at a time, the servers taking turns by batches, so they see the same machine state.
    // Batches, not single streams: a process that idled while the others took their turn runs its
    // next request on cold caches, which measured ~40% more CPU per start (5.5 vs 3.9 ms here).
    const serialCount = quick ? 20 : 60
    const serialBatch = 10
    const before = new Map()
    for (const s of servers) before.set(s, await ask(s.child, 'stats'))
    const firsts = new Map(servers.map((s) => [s, []]))
    for (let i = 0; i < serialCount; i += serialBatch) {
      for (const s of servers) firsts.get(s).push(...(await serial(s.port, serialBatch)))
    }
    for (const s of servers) {
      const after = await ask(s.child, 'stats')
      const b = before.get(s)
      s.serialFirst = percentile(firsts.get(s), 50)
      s.serialCpu =
        (after.cpu.user + after.cpu.system - b.cpu.user - b.cpu.system) / 1000 / serialCount
    }
    const oursSerial = servers.find((s) => s.name === 'ours')
    for (const [metric, field] of [
      ['first event p50, one stream at a time', 'serialFirst'],
      ['server CPU per stream start (one at a time)', 'serialCpu'],
    ]) {
      for (const s of servers) {
        rows.push({
          bench,
          metric,
          contender: s.label,
          value: s[field],
          unit: 'ms',
          ratio: oursSerial && s !== oursSerial ? oursSerial[field] / s[field] : undefined,
        })
      }
    }
    measured = new Map(servers.map((s) => [s.name, new Map()]))
    for (const [i, n] of levels.entries()) {
      for (let j = 0; j < servers.length; j++) {
        const s = servers[(i + j) % servers.length]
        await ask(emulator.child, 'reset')
        await ask(s.child, 'stats', { resetPeak: true })
        const before = await ask(s.child, 'stats')
        const emulatorBefore = await ask(emulator.child, 'stats')
        const clientBefore = process.cpuUsage()
        const t0 = performance.now()
        const result = await level(s.port, n, 60_000)
        result.wallMs = performance.now() - t0
        const clientCpu = process.cpuUsage(clientBefore)
        const emulatorAfter = await ask(emulator.child, 'stats')
        const after = await ask(s.child, 'stats')
        const cpuMs = (a, b) => (b.user + b.system - a.user - a.system) / 1000
        result.emulatorCpuMs = cpuMs(emulatorBefore.cpu, emulatorAfter.cpu)
        result.clientCpuMs = (clientCpu.user + clientCpu.system) / 1000
        result.peakRss = after.peakRss
        result.cpuMs =
          (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / 1000
        measured.get(s.name).set(n, result)
      }
    }
    const ours = measured.get('ours')
    for (const n of levels) {
      const metrics = [
        ['errors', 'errors', '', (r) => r.errors],
        ['first event p50', 'ms', 'firstP50'],
        ['first event p99', 'ms', 'firstP99'],
        ['worst inter-event gap p99', 'ms', 'gapP99'],
        ['server peak RSS', 'MiB', 'peakRss'],
        ['server CPU', 'ms', 'cpuMs'],
      ]
      for (const [metric, unit, field] of metrics) {
        for (const s of servers) {
          const r = measured.get(s.name).get(n)
          const value =
            field === 'peakRss' ? r.peakRss / MiB : metric === 'errors' ? r.errors : r[field]
          const oursValue = ours
            ? field === 'peakRss'
              ? ours.get(n).peakRss / MiB
              : metric === 'errors'
                ? ours.get(n).errors
                : ours.get(n)[field]
            : undefined
          const row = {
            bench,
            metric: `${metric} @ ${n.toLocaleString('en-US')} streams`,
            contender: s.label,
            value,
            unit: unit === 'errors' ? '' : unit,
            ratio: ours && s.name !== 'ours' && metric !== 'errors' ? oursValue / value : undefined,
          }
          if (metric === 'errors' && r.errors > 0) row.note = JSON.stringify(r.errorKinds)
          if (s.name === 'ours' && metric === 'errors' && n === 2_000) {
            row.goal = 'zero errors at 2,000 streams'
            row.met = r.errors === 0
          }
          if (s.name === 'ours' && metric === 'first event p99' && n === 1_000) {
            row.goal = '< 250 ms at 1,000 streams'
            row.met = r.firstP99 < 250
          }
          rows.push(row)
        }
      }
    }
  } finally {
    await stopAllChildren()
  }
  const split = []
  for (const [name, byLevel] of measured ?? []) {
    for (const [n, r] of byLevel) {
      split.push(
        `${name} @ ${n}: ${(r.wallMs / 1000).toFixed(1)} s wall; CPU server ${(r.cpuMs / 1000).toFixed(1)} s, emulator ${(r.emulatorCpuMs / 1000).toFixed(1)} s, client ${(r.clientCpuMs / 1000).toFixed(1)} s`,
      )
    }
  }
  const notes = [
    `CPU split (2 cores shared by three processes and the rest of the machine): ${split.join('; ')}`,
    `emulator in its own process pacing ${tokens} tokens every ${tokenDelayMs} ms per stream; each server in its own process (backlog 4096); client: node:http in the bench process, no keep-alive, all streams opened at once`,
  ]
  return { rows, notes, missing }
}
