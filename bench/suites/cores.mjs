// Benchmark 10: many cores (issue 10 item 5). The concurrency suite's streaming load against the
// built handler served by one process and by a node:cluster of WORKERS workers on one port (the
// README's "Every core of one machine"), with the naive pass-through served both ways for the
// ratio. The emulator runs in a process of its own and this process is the client, so on 2 cores
// the cluster's workers share them with the emulator and the client: see bench/README.md.
import os from 'node:os'
import { stopAllChildren } from '../lib/children.mjs'
import { mulberry32, ORDER_SEED, shuffle } from '../lib/prng.mjs'
import { MiB, median, pairedRatio } from '../lib/stats.mjs'
import { level, measureLevel, startEmulator, startServer } from '../lib/stream-load.mjs'

const METRICS = [
  ['errors', '', 'errors'],
  ['first event p50', 'ms', 'firstP50'],
  ['first event p99', 'ms', 'firstP99'],
  ['worst inter-event gap p99', 'ms', 'gapP99'],
  ['completed streams/s', '/s', 'streamsPerSecond'],
  ['server CPU (every process serving)', 'ms', 'cpuMs'],
  ['server peak RSS (sum of processes)', 'MiB', 'peakRssMiB'],
]

export async function run({ quick }) {
  const workers = Number(process.env.BENCH_WORKERS ?? 2)
  if (!Number.isInteger(workers) || workers < 2) throw new Error('BENCH_WORKERS must be 2 or more')
  // BENCH_LEVELS and BENCH_CONTENDERS (ours-1,ours-N,ours-N-none,naive-1,naive-N) narrow a run.
  const levels = process.env.BENCH_LEVELS?.split(',').map(Number) ?? (quick ? [100] : [100, 1_000])
  const rounds = Number(process.env.BENCH_ROUNDS ?? (quick ? 2 : 3))
  const tokens = quick ? 10 : 50
  const tokenDelayMs = 20
  const names = [
    { id: 'ours-1', name: 'ours', label: 'ours: 1 process' },
    {
      id: `ours-${workers}`,
      name: 'ours',
      workers,
      label: `ours: cluster of ${workers} (round-robin)`,
    },
    {
      id: `ours-${workers}-none`,
      name: 'ours',
      workers,
      policy: 'none',
      label: `ours: cluster of ${workers} (SCHED_NONE)`,
    },
    { id: 'naive-1', name: 'naive', label: 'naive pass-through: 1 process' },
    {
      id: `naive-${workers}`,
      name: 'naive',
      workers,
      label: `naive pass-through: cluster of ${workers}`,
    },
  ]
  const keep = process.env.BENCH_CONTENDERS?.split(',')
  if (keep) names.splice(0, names.length, ...names.filter((c) => keep.includes(c.id)))
  const bench = '10 many cores'
  const rows = []
  const missing = []
  const notes = []
  const servers = []
  // samples.get(id).get(n): one result per round
  const samples = new Map(names.map((c) => [c.id, new Map(levels.map((n) => [n, []]))]))
  try {
    const emulator = await startEmulator(tokens, tokenDelayMs)
    for (const c of names) {
      try {
        servers.push({ ...c, ...(await startServer(c.name, emulator, c)) })
      } catch (error) {
        missing.push(`${c.label}: ${error.message}`)
      }
    }
    for (const s of servers) await level(s.port, 20, 30_000) // warm-up (every worker JITs a little)
    // Rounds interleaved, in a new seeded random order each time, so each server sees the same
    // machine on average and no server always runs after the same one (see interleave).
    const random = mulberry32(ORDER_SEED)
    for (let round = 0; round < rounds; round++) {
      for (const n of levels) {
        for (const s of shuffle([...servers], random)) {
          const r = await measureLevel(s, emulator, n, 60_000)
          r.peakRssMiB = r.peakRss / MiB
          samples.get(s.id).get(n).push(r)
        }
      }
    }
  } finally {
    await stopAllChildren()
  }

  const by = (id) => servers.find((s) => s.id === id)
  const one = by('ours-1')
  const many = by(`ours-${workers}`)
  // The ratio column: on ours' other rows, ours on the round-robin cluster (the README's setup) /
  // that row; on a naive row, ours / naive served the same way. Medians of per-round ratios.
  const partner = (s) =>
    s === many ? undefined : s.name === 'ours' ? many : s.workers ? many : one
  for (const n of levels) {
    for (const [metric, unit, field] of METRICS) {
      for (const s of servers) {
        const mine = samples.get(s.id).get(n)
        const ref = partner(s)
        const row = {
          bench,
          metric: `${metric} @ ${n.toLocaleString('en-US')} streams`,
          contender: s.label,
          value: median(mine.map((r) => r[field])),
          unit,
        }
        if (ref && field !== 'errors') {
          row.ratio = pairedRatio(samples.get(ref.id).get(n), mine, (r) => r[field])
        }
        const errorKinds = mine.filter((r) => r.errors > 0).map((r) => r.errorKinds)
        if (field === 'errors' && errorKinds.length > 0) row.note = JSON.stringify(errorKinds)
        rows.push(row)
      }
    }
  }

  const fmt = (ms) => (ms / 1000).toFixed(1)
  for (const n of levels) {
    const split = servers.map((s) => {
      const rs = samples.get(s.id).get(n)
      const m = (field) => median(rs.map((r) => r[field] ?? 0))
      // How evenly the workers shared the load: the busiest worker's share of the workers' CPU.
      const busiest = median(
        rs.map((r) =>
          r.workersCpuMs ? Math.max(...r.workersCpuMs) / (r.cpuMs - r.primaryCpuMs) : 0,
        ),
      )
      const primary = s.workers
        ? ` (primary ${fmt(m('primaryCpuMs'))} s, busiest worker ${(busiest * 100).toFixed(0)}% of the workers')`
        : ''
      return `${s.id}: ${fmt(m('wallMs'))} s wall; CPU server ${fmt(m('cpuMs'))} s${primary}, emulator ${fmt(m('emulatorCpuMs'))} s, client ${fmt(m('clientCpuMs'))} s`
    })
    notes.push(`@ ${n} streams, medians of ${rounds} rounds: ${split.join('; ')}`)
    const scale = (a, b, field) =>
      a && b
        ? pairedRatio(samples.get(a.id).get(n), samples.get(b.id).get(n), (r) => r[field])
        : NaN
    const naiveOne = by('naive-1')
    const naiveMany = by(`naive-${workers}`)
    const none = by(`ours-${workers}-none`)
    const scaling = [
      ['first p50', 'firstP50'],
      ['first p99', 'firstP99'],
      ['gap p99', 'gapP99'],
      ['streams/s', 'streamsPerSecond'],
      ['CPU', 'cpuMs'],
    ].map(
      ([label, field]) =>
        `${label} ${scale(many, one, field).toFixed(2)}x (SCHED_NONE ${scale(none, one, field).toFixed(2)}x, naive ${scale(naiveMany, naiveOne, field).toFixed(2)}x)`,
    )
    notes.push(`@ ${n} streams, ${workers} workers / 1 process: ${scaling.join(', ')}`)
  }
  notes.push(
    `${os.cpus().length} cores shared by the emulator (own process, ${tokens} tokens every ${tokenDelayMs} ms per stream), the client (this process: node:http, no keep-alive, all streams opened at once) and the server: 1 process, or a cluster primary (accepting for round-robin, idle with SCHED_NONE) + ${workers} workers, all on one port (backlog 4096; the round-robin primary binds it with Node's default 511 and accepts as connections arrive)`,
  )
  return { rows, notes, missing }
}
