// Benchmark 1: proxy overhead. Every contender runs in this process against the same in-process
// upstream (first token at once, then tokens as fast as they are read), so the differences are the
// handlers' own cost: TTFT, tokens/s, CPU per token. RSS growth runs in a child per contender.
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { BEFORE_LABEL, loadBefore, loadOurs } from '../lib/ours.mjs'
import { aiSdkRoute, chatRequest, naiveRoute, nativeURL, oursRoute } from '../lib/routes.mjs'
import { interleave, MiB, median, medianOf, pairedRatio } from '../lib/stats.mjs'
import { telemetrySdk } from '../lib/telemetry-sdk.mjs'
import { createUpstream } from '../lib/upstream.mjs'

/**
 * The contenders, each a function that starts one request and resolves to its Response. `before`:
 * the folder of another build of copilotedge (bench/run.mjs --before=<dir>), measured beside ours
 * as "copilotedge, the build of --before".
 */
export async function buildContenders(upstream, { before } = {}) {
  const missing = []
  const server = await loadOurs('.')
  const create = server.module?.createCopilotEdgeHandler
  if (typeof create !== 'function')
    missing.push(server.missing ?? 'createCopilotEdgeHandler is not exported yet')
  const naive = naiveRoute(upstream)
  const aisdk = aiSdkRoute(upstream)
  const ours = typeof create === 'function' ? oursRoute(create, upstream) : null
  // BENCH_TELEMETRY=1: ours again with telemetry (issue 13), beside ours without it: `telemetry:
  // true` with no provider registered (what a user without an SDK pays), and a real SDK.
  const telemetry =
    process.env.BENCH_TELEMETRY === '1' && ours
      ? {
          idle: oursRoute(create, upstream, { telemetry: true }),
          sdk: oursRoute(create, upstream, { telemetry: telemetrySdk() }),
        }
      : null
  let previous = null
  if (before) {
    const loaded = await loadBefore(before)
    const createBefore = loaded.module?.createCopilotEdgeHandler
    if (typeof createBefore === 'function') previous = oursRoute(createBefore, upstream)
    else missing.push(`${BEFORE_LABEL}: ${loaded.missing ?? 'no createCopilotEdgeHandler'}`)
  }
  const contenders = [
    {
      name: 'floor',
      label: 'floor: emulator read directly',
      start: () =>
        upstream.fetch(nativeURL(upstream), {
          method: 'POST',
          headers: {
            authorization: `Bearer ${upstream.apiKey}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({
            messages: [{ role: 'user', content: 'Tell me a long story.' }],
            stream: true,
          }),
        }),
    },
    ...(ours
      ? [
          {
            name: 'ours',
            label: 'ours: createCopilotEdgeHandler',
            start: () => ours(chatRequest()),
          },
        ]
      : []),
    ...(telemetry
      ? [
          {
            name: 'ours-telemetry-idle',
            label: 'ours, telemetry: true, no provider',
            start: () => telemetry.idle(chatRequest()),
          },
          {
            name: 'ours-telemetry-sdk',
            label: 'ours, telemetry on (OpenTelemetry SDK)',
            start: () => telemetry.sdk(chatRequest()),
          },
        ]
      : []),
    ...(previous
      ? [{ name: 'before', label: BEFORE_LABEL, start: () => previous(chatRequest()) }]
      : []),
    { name: 'naive', label: 'naive pass-through', start: () => naive(chatRequest()) },
    { name: 'aisdk', label: 'AI SDK route (streamText)', start: () => aisdk(chatRequest()) },
  ]
  for (const c of contenders) c.token = upstream.firstToken
  // BENCH_CONTENDERS=floor,ours,before,naive leaves the AI SDK out (a before/after run on a loaded
  // machine, where its 200,000-token RSS child alone takes minutes). The floor is always kept.
  const keep = process.env.BENCH_CONTENDERS?.split(',')
  if (keep) {
    const kept = contenders.filter((c) => c.name === 'floor' || keep.includes(c.name))
    contenders.splice(0, contenders.length, ...kept)
  }
  return { contenders, missing }
}

/** Reads a whole response; the first token is the first time its text shows up in the bytes. */
export async function consume(contender, onRead) {
  const token = contender.token
  const cpu = process.cpuUsage()
  const t0 = performance.now()
  const response = await contender.start()
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`)
  const reader = response.body.getReader()
  const decoder = new TextDecoder()
  let ttft = Number.NaN
  let tail = ''
  let bytes = 0
  let reads = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    bytes += value.byteLength
    reads++
    if (Number.isNaN(ttft)) {
      const text = tail + decoder.decode(value, { stream: true })
      if (text.includes(token)) ttft = performance.now() - t0
      else tail = text.slice(-token.length)
    }
    onRead?.(reads)
  }
  const ms = performance.now() - t0
  const used = process.cpuUsage(cpu)
  return { ttft, ms, bytes, cpuUs: used.user + used.system }
}

/**
 * RSS growth of one contender in its own process. The emulator stays in this process, listening
 * on loopback, so the child's RSS holds only the contender, its fetch and the reader: the
 * emulator's own garbage is not counted against anyone.
 */
export async function rssChild(contender, tokens, before) {
  const servers = []
  const upstreams = {}
  for (const [key, count] of [
    ['warm', Math.min(20_000, tokens / 10)],
    ['long', tokens],
  ]) {
    const { emulator, accountId, apiKey, firstToken } = await createUpstream({ tokens: count })
    const server = await emulator.listen({ port: 0, host: '127.0.0.1' })
    servers.push(server)
    upstreams[key] = { baseURL: server.baseURL, accountId, apiKey, firstToken }
  }
  try {
    return await new Promise((resolve, reject) => {
      const args = ['--rss-child', contender, JSON.stringify(upstreams), before ?? '']
      const child = fork(fileURLToPath(import.meta.url), args, {
        execArgv: ['--expose-gc'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
      const timer = setTimeout(() => process.kill(child.pid, 'SIGKILL'), 300_000)
      child.once('message', (message) => {
        clearTimeout(timer)
        process.kill(child.pid)
        message.ok ? resolve(message) : reject(new Error(message.error))
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`RSS child for ${contender} exited with ${code}`))
      })
    })
  } finally {
    for (const server of servers) await server.close()
  }
}

async function rssMain(name, upstreams, before) {
  const remote = (key) => ({ ...upstreams[key], fetch: globalThis.fetch })
  // A warm-up stream a tenth as long, so module loading, JIT and V8's young generation (which grows
  // to its working size under any allocation rate) are in the baseline: what remains is growth
  // with the length of the stream.
  const warm = await buildContenders(remote('warm'), { before })
  await consume(warm.contenders.find((c) => c.name === name))
  globalThis.gc()
  await new Promise((r) => setTimeout(r, 50))
  globalThis.gc()
  const baseline = process.memoryUsage.rss()
  let peak = baseline
  const { contenders: long } = await buildContenders(remote('long'), { before })
  const result = await consume(
    long.find((c) => c.name === name),
    (reads) => {
      if (reads % 256 === 0) peak = Math.max(peak, process.memoryUsage.rss())
    },
  )
  peak = Math.max(peak, process.memoryUsage.rss())
  return { growth: peak - baseline, baseline, peak, ms: result.ms }
}

if (process.argv[2] === '--rss-child') {
  const [, , , name, upstreams, before] = process.argv
  // A killed suite closes the IPC channel: never outlive it (nor crash on a send to nobody).
  process.on('disconnect', () => process.exit(0))
  rssMain(name, JSON.parse(upstreams), before || undefined).then(
    (r) => process.send({ ok: true, ...r }),
    (e) => process.send({ ok: false, error: e.stack }),
  )
}

export async function run({ quick, before }) {
  const tokens = quick ? 5_000 : 20_000
  // 31 rounds: the paired ratio to the pass-through moved 0.49–0.62x between two runs of 15 (same
  // build, same minutes): each sample is ~15 ms, so one scheduler hiccup decides a round.
  const rounds = quick ? 2 : 31
  const ttftRounds = quick ? 20 : 200
  const rssTokens = quick ? 10_000 : 200_000
  const rssRepeats = quick ? 1 : 3

  const upstream = await createUpstream({ tokens })
  const { contenders, missing } = await buildContenders(upstream, { before })
  const short = await createUpstream({ tokens: 8 })
  const { contenders: shortContenders } = await buildContenders(short, { before })

  for (const c of contenders) await consume(c) // warm-up (JIT, module init)
  for (let i = 0; i < ttftRounds / 4; i++) for (const c of shortContenders) await consume(c)
  const ttftSample = (c, round) => {
    if (round % 50 === 49) short.emulator.reset() // its request log grows with every request
    return consume(c)
  }
  // TTFT as a serving process sees it (the goal), and again right after a forced full GC: that GC
  // drops optimised code whose hidden classes died with the last stream, so the next request
  // re-optimises on the way (in one run: the floor's own TTFT 0.19 → 0.85 ms, ours' added TTFT
  // 0.32 → 0.96 ms). Until 2026-12-02 only the second was measured, under the goal.
  const ttft = await interleave(shortContenders, ttftRounds, ttftSample, { gc: false })
  const ttftAfterGc = await interleave(shortContenders, ttftRounds, ttftSample)
  // Throughput rounds without a forced GC before each: a full GC right before a 20,000-token
  // sample doubled the floor's own time (the emulator read directly, ~10 → ~18 ms) and ours'
  // (~25 → ~55 ms), the whole process running cold after it, a state no serving process is in.
  // The order is shuffled every round, so no contender always pays for another's garbage.
  globalThis.gc?.()
  const long = await interleave(contenders, rounds, (c) => consume(c), { gc: false })

  const rss = new Map()
  // Peak RSS depends on when V8 collects: the median of 3 children per contender in full runs
  // (one for the AI SDK, which takes ~15 s per 200,000 tokens).
  for (let i = 0; i < rssRepeats; i++) {
    for (const c of contenders) {
      if (i > 0 && c.name === 'aisdk') continue
      const runs = rss.get(c.name) ?? []
      // A child that fails or times out (a very loaded machine) leaves its figure n/a, not the
      // whole suite crashed.
      try {
        runs.push(await rssChild(c.name, rssTokens, before))
      } catch (error) {
        missing.push(`RSS growth of ${c.label}: ${error.message.split('\n')[0]}`)
      }
      rss.set(c.name, runs)
    }
  }
  for (const [name, runs] of rss) {
    rss.set(name, { growth: median(runs.map((r) => r.growth)), runs: runs.length })
  }

  const bench = '1 proxy'
  const rows = []
  const has = (name) => long.has(name)
  const ttftOf = (name, samples = ttft) => medianOf(samples.get(name), 'ttft')
  const tpsOf = (name) => median(long.get(name).map((s) => (tokens / s.ms) * 1000))
  const cpuOf = (name) => median(long.get(name).map((s) => s.cpuUs / tokens))
  const floorCpu = cpuOf('floor')
  const ours = has('ours')

  for (const [metric, samples] of [
    ['added TTFT (vs floor)', ttft],
    ['added TTFT right after a full GC (vs floor)', ttftAfterGc],
  ]) {
    const floor = ttftOf('floor', samples)
    for (const c of contenders) {
      const added = ttftOf(c.name, samples) - floor
      const row = {
        bench,
        metric,
        contender: c.label,
        value: c.name === 'floor' ? floor : added,
        unit: 'ms',
        ratio:
          ours && (c.name === 'aisdk' || c.name === 'before' || c.name.startsWith('ours-'))
            ? (ttftOf('ours', samples) - floor) / added
            : undefined,
        note: c.name === 'floor' ? 'absolute TTFT of the floor' : undefined,
      }
      if (c.name === 'ours' && samples === ttft) {
        row.goal = '< 1 ms median'
        row.met = added < 1
      }
      rows.push(row)
    }
  }
  for (const c of contenders) {
    const tps = tpsOf(c.name)
    const row = {
      bench,
      metric: `tokens/s (${tokens.toLocaleString('en-US')} tokens)`,
      contender: c.label,
      value: tps,
      unit: 'tok/s',
      ratio:
        ours && c.name !== 'ours'
          ? pairedRatio(long.get('ours'), long.get(c.name), (s) => 1 / s.ms)
          : undefined,
    }
    if (ours && c.name === 'naive') {
      row.goal = '≥ 0.5x'
      row.met = row.ratio >= 0.5
    }
    if (ours && c.name === 'aisdk') {
      row.goal = '≥ 8x'
      row.met = row.ratio >= 8
    }
    rows.push(row)
  }
  for (const c of contenders) {
    const cpu = cpuOf(c.name)
    rows.push({
      bench,
      metric: 'server CPU/token (process − floor)',
      contender: c.label,
      value: c.name === 'floor' ? cpu : cpu - floorCpu,
      unit: 'µs',
      // Only against the AI SDK and the build before: the pass-through's added CPU is ~0, so a
      // ratio to it is noise.
      ratio:
        ours && (c.name === 'aisdk' || c.name === 'before' || c.name.startsWith('ours-'))
          ? (cpuOf('ours') - floorCpu) / (cpu - floorCpu)
          : undefined,
      note: c.name === 'floor' ? 'floor: upstream + reader, whole process' : undefined,
    })
  }
  for (const c of contenders) {
    const growth = rss.get(c.name).growth / MiB
    const row = {
      bench,
      metric: `RSS growth (${rssTokens.toLocaleString('en-US')} tokens, own process)`,
      contender: c.label,
      value: growth,
      unit: 'MiB',
      // Only against the AI SDK and the build before: the floor's and the pass-through's growth
      // is ~0 (noise); the ratio to the pass-through's is its own row below.
      ratio:
        ours && (c.name === 'aisdk' || c.name === 'before')
          ? rss.get('ours').growth / MiB / growth
          : undefined,
    }
    if (c.name === 'ours') {
      row.goal = rssTokens >= 200_000 ? '< 20 MiB' : '< 20 MiB (goal is for 200,000 tokens)'
      row.met = growth < 20
    }
    rows.push(row)
  }
  // Issue 9 asks for these two as ratios to the naive pass-through measured in the same run: the
  // throughput per round (paired), the RSS growth as the ratio of the medians.
  const againstNaive = contenders.filter((c) => ['ours', 'before', 'aisdk'].includes(c.name))
  if (has('naive')) {
    for (const c of againstNaive) {
      const row = {
        bench,
        metric: 'tokens/s ratio to naive pass-through (paired per round)',
        contender: c.label,
        value: pairedRatio(long.get(c.name), long.get('naive'), (s) => 1 / s.ms),
        unit: 'x',
      }
      rows.push(row)
    }
    const naiveGrowth = rss.get('naive').growth
    for (const c of againstNaive) {
      rows.push({
        bench,
        metric: 'RSS growth ratio to naive pass-through',
        contender: c.label,
        value: rss.get(c.name).growth / naiveGrowth,
        unit: 'x',
        note: `naive grew ${(naiveGrowth / MiB).toFixed(2)} MiB`,
      })
    }
  }
  const notes = [
    `upstream: the Workers AI emulator (copilotedge/testing) in-process through its fetchImpl (the AI SDK on its /ai/v1/chat/completions route, the others on /ai/run); TTFT over ${ttftRounds} short streams per contender (and as many again, each right after a forced full GC), throughput over ${rounds} rounds, interleaved`,
    `RSS growth: each contender alone in a child process (--expose-gc) reading ${rssTokens.toLocaleString('en-US')} tokens from the emulator over loopback (the emulator stays in the parent), median of ${rssRepeats} children (1 for the AI SDK); growth = peak RSS while streaming − RSS after a warm-up stream and gc`,
  ]
  if (before) notes.push(`${BEFORE_LABEL}: the build in ${before}`)
  return { rows, notes, missing }
}
