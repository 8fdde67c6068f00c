// Benchmark 5: concurrency. Each contender is served on node:http (@hono/node-server) in a process
// of its own (BENCH_PROCESSES: several, taking its runs in turn); the emulator runs in another, pacing
// tokens every 20 ms; this process is the client: N concurrent streams over loopback, recording
// first-event and inter-event times per stream.
import { ask, stopAllChildren } from '../lib/children.mjs'
import { BEFORE_LABEL } from '../lib/ours.mjs'
import { mulberry32, ORDER_SEED, shuffle } from '../lib/prng.mjs'
import { MiB, median, percentile } from '../lib/stats.mjs'
import { level, measureLevel, serial, startEmulator, startServer } from '../lib/stream-load.mjs'

/** Issue 9's goals: at 100 and 1,000 streams, these within 1.25x of the naive pass-through's. */
const NAIVE_RATIO_GOALS = new Set([
  'first event p50',
  'first event p99',
  'worst inter-event gap p99',
])

/**
 * How often ours stays within `limit` times the pass-through on `field` when each contender's runs
 * of a level are drawn again with replacement (2,000 draws, seeded): how firmly this run's runs
 * support its verdict. It sees only the spread between this run's runs; a new run, minutes later,
 * moved the ratio more than that here (bench/README.md).
 */
function shareWithin(oursRuns, theirRuns, field, limit) {
  const random = mulberry32(ORDER_SEED)
  const draw = (runs) => median(runs.map(() => runs[Math.floor(random() * runs.length)][field]))
  let within = 0
  for (let i = 0; i < 2000; i++) if (draw(oursRuns) <= limit * draw(theirRuns)) within++
  return within / 2000
}

/**
 * Server processes per contender (BENCH_PROCESSES, default one), taking a level's runs in turn.
 * More than one makes each process idle longer between its runs: with three per contender (nine
 * servers) ~10 s at 100 streams, past the ~8 s after which V8's memory reducer shrinks an idle
 * heap, and a process's next burst then cost ~45–50% more CPU, ours and the pass-through alike
 * (bench/README.md). Three processes were meant to spread the luck of one; the spread between
 * processes that motivated them was measured with processes idling between their turns too.
 */
function processesPer(quick) {
  return quick ? 1 : Number(process.env.BENCH_PROCESSES ?? 1)
}

/**
 * Streams each server process serves before its runs count: a level of FRESH_LEVEL (measured),
 * then levels of WARM_LEVEL (fewer seconds than levels of 100 for the same streams). V8 is still
 * optimising a stream's functions over a process's first ~2,000 streams: in process, a stream cost
 * ~2.5x its settled CPU after 300 served, ours and the minimal proxy alike. With the 20-stream
 * warm-up this replaced, every 100-stream run was some process's streams ~20–320. The fresh level
 * is reported apart ("fresh" rows): what a newly started instance does with its first burst.
 */
const WARM_STREAMS = 2_500
const FRESH_LEVEL = 100
const WARM_LEVEL = 400

/** A level's name in the rows: its size, or the fresh processes' first level. */
function levelName(n) {
  return n === 'fresh'
    ? `${FRESH_LEVEL} streams, a fresh process`
    : `${n.toLocaleString('en-US')} streams`
}

/** Runs per level: more where a run is short and its percentiles noisy. */
function repeatsAt(n, quick) {
  if (quick) return 1
  return n <= 100 ? 9 : n <= 1_000 ? 3 : 1
}

/** Several runs of one level as one: the median of each figure, errors summed over the runs. */
function medianRun(runs) {
  const errorKinds = {}
  for (const r of runs) {
    for (const [kind, count] of Object.entries(r.errorKinds)) {
      errorKinds[kind] = (errorKinds[kind] ?? 0) + count
    }
  }
  const merged = { runs: runs.length, errorKinds, errors: 0, all: runs }
  for (const r of runs) merged.errors += r.errors
  for (const field of [
    'firstP50',
    'firstP99',
    'gapP99',
    'peakRss',
    'cpuMs',
    'wallMs',
    'emulatorCpuMs',
    'clientCpuMs',
    'completed',
  ]) {
    merged[field] = median(runs.map((r) => r[field]))
  }
  return merged
}

export async function run({ quick, before }) {
  // BENCH_LEVELS=100,1000 and BENCH_CONTENDERS=ours,before,naive narrow a run by hand (a
  // before/after run on a loaded machine, within the suite's time limit).
  const levels =
    process.env.BENCH_LEVELS?.split(',').map(Number) ?? (quick ? [100] : [100, 1_000, 2_000])
  const tokens = quick ? 10 : 50
  const tokenDelayMs = 20
  const names = [
    { name: 'ours', label: 'ours: handler on @hono/node-server' },
    ...(before ? [{ name: 'before', label: BEFORE_LABEL }] : []),
    { name: 'naive', label: 'naive pass-through' },
    // Only when named in BENCH_CONTENDERS: the least a Chat Completions proxy does over fetch
    // (routes.mjs).
    ...(process.env.BENCH_CONTENDERS?.split(',').includes('minimal')
      ? [{ name: 'minimal', label: 'minimal Chat Completions proxy (by hand)' }]
      : []),
    // Quick mode (CI) leaves the AI SDK out: its process alone takes seconds to start.
    ...(quick ? [] : [{ name: 'aisdk', label: 'AI SDK route (streamText)' }]),
  ]
  const keep = process.env.BENCH_CONTENDERS?.split(',')
  if (keep) names.splice(0, names.length, ...names.filter((c) => keep.includes(c.name)))
  const rows = []
  const missing = []
  const bench = '5 concurrency'
  let measured
  try {
    const emulator = await startEmulator(tokens, tokenDelayMs)
    const servers = []
    for (const c of names) {
      try {
        const procs = []
        for (let i = 0; i < processesPer(quick); i++) {
          procs.push(await startServer(c.name, emulator, { before }))
        }
        // The first process also serves the one-at-a-time streams below.
        servers.push({ ...c, ...procs[0], procs })
      } catch (error) {
        missing.push(`${c.label}: ${error.message}`)
      }
    }
    // Warm-up, the processes taking turns: connections first, then each process's fresh level
    // (measured, the contenders in a seeded random order), then the rest of WARM_STREAMS in levels
    // of WARM_LEVEL.
    for (const s of servers) for (const p of s.procs) await level(p.port, 20, 30_000)
    const random = mulberry32(ORDER_SEED)
    const fresh = new Map(servers.map((s) => [s.name, []]))
    for (const s of shuffle([...servers], random)) {
      for (const p of s.procs) {
        fresh.get(s.name).push(await measureLevel(p, emulator, FRESH_LEVEL, 60_000))
      }
    }
    for (let served = FRESH_LEVEL; served < WARM_STREAMS; served += WARM_LEVEL) {
      for (const s of servers) for (const p of s.procs) await level(p.port, WARM_LEVEL, 60_000)
    }
    // One stream at a time, the servers taking turns by batches, so they see the same machine state.
    // Batches, not single streams: a process that idled while the others took their turn runs its
    // next request on cold caches, which measured ~40% more CPU per start (5.5 vs 3.9 ms here).
    const serialCount = quick ? 20 : 60
    const serialBatch = 10
    const serialBefore = new Map()
    for (const s of servers) serialBefore.set(s, await ask(s.child, 'stats'))
    const firsts = new Map(servers.map((s) => [s, []]))
    for (let i = 0; i < serialCount; i += serialBatch) {
      for (const s of servers) firsts.get(s).push(...(await serial(s.port, serialBatch)))
    }
    for (const s of servers) {
      const after = await ask(s.child, 'stats')
      const b = serialBefore.get(s)
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
    // Each level several times, the servers taking turns in a new (seeded) random order each
    // time: one run of 100 streams moved first-event p99 by 2x between runs of the same server
    // (ours 136–293 ms, the pass-through 113–242 ms, 8 runs each, quiet machine), so a single run's
    // ratio was mostly noise. Shuffled, not rotated: a rotation always ran ours right after the
    // AI SDK's run and the pass-through right after ours (see interleave in stats.mjs).
    measured = new Map(
      servers.map((s) => [s.name, new Map([['fresh', medianRun(fresh.get(s.name))]])]),
    )
    for (const n of levels) {
      const runs = new Map(servers.map((s) => [s.name, []]))
      for (let r = 0; r < repeatsAt(n, quick); r++) {
        for (const s of shuffle([...servers], random)) {
          const proc = s.procs[r % s.procs.length]
          runs.get(s.name).push(await measureLevel(proc, emulator, n, 60_000))
        }
      }
      for (const s of servers) measured.get(s.name).set(n, medianRun(runs.get(s.name)))
    }
    const ours = measured.get('ours')
    // A fresh process's first level of 100 goes beside the measured level of 100.
    const shown = levels.includes(FRESH_LEVEL)
      ? levels.flatMap((n) => (n === FRESH_LEVEL ? [n, 'fresh'] : [n]))
      : [...levels, 'fresh']
    for (const n of shown) {
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
            metric: `${metric} @ ${levelName(n)}`,
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
          // The absolute goal (first event p99 < 250 ms at 1,000 streams) is retired (issue 9):
          // 1,000 starts cost seconds of CPU here for the pass-through too; only ratios count.
          if (s.name === 'naive' && NAIVE_RATIO_GOALS.has(metric) && (n === 100 || n === 1_000)) {
            row.goal = 'ours ≤ 1.25x naive'
            row.met = row.ratio <= 1.25
            if (ours && r.runs > 1) {
              const share = shareWithin(ours.get(n).all, r.all, field, 1.25)
              row.note = `within in ${Math.round(share * 100)}% of resamples of the ${r.runs} runs`
            }
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
        `${name} @ ${levelName(n)}: ${(r.wallMs / 1000).toFixed(1)} s wall; CPU server ${(r.cpuMs / 1000).toFixed(1)} s, emulator ${(r.emulatorCpuMs / 1000).toFixed(1)} s, client ${(r.clientCpuMs / 1000).toFixed(1)} s`,
      )
    }
  }
  const notes = [
    `CPU split (2 cores shared by three processes and the rest of the machine): ${split.join('; ')}`,
    `emulator in its own process pacing ${tokens} tokens every ${tokenDelayMs} ms per stream; each contender in ${processesPer(quick)} server process${processesPer(quick) > 1 ? 'es taking its runs in turn' : ''} (backlog 4096); client: node:http in the bench process, no keep-alive, all streams opened at once; each process first served ${WARM_STREAMS.toLocaleString('en-US')} streams: a level of ${FRESH_LEVEL} (measured: "a fresh process"), then levels of ${WARM_LEVEL}; each level run ${levels.map((n) => `${repeatsAt(n, quick)}x at ${n.toLocaleString('en-US')}`).join(', ')}, the servers taking turns, every figure the median of its runs (errors: the sum)`,
  ]
  return { rows, notes, missing }
}
