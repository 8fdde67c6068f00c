// Where ours' extra server CPU at N paced streams goes, by hand (not in `npm run bench`): the
// concurrency suite's setup (the emulator and each server in a process of its own, this process the
// client, all N streams opened at once), with contenders that add one part of ours' work at a time
// to the naive pass-through: a second web stream between the upstream body and the HTTP adapter
// (naive-hop), then ours-sized writes (naive-hop-pad), then the least a Chat Completions proxy does
// (minimal: the same bytes as ours, rewritten by hand), then ours (and `--before=<dir>`, another
// build). The servers take turns, level by level; every figure is the median of ROUNDS levels.
// Node accepts one connection per event-loop turn, so the last streams of a burst are accepted
// only after the server has done the work of every turn before: the last columns are when the
// server accepted the connection 99% of the streams waited for, and its CPU until then.
// `node bench/concurrency-parts.mjs [--before=<dir>]` (ROUNDS=15, N=100, TOKENS=50).
import { stopAllChildren } from './lib/children.mjs'
import { mulberry32 } from './lib/prng.mjs'
import { median } from './lib/stats.mjs'
import { level, measureLevel, startEmulator, startServer } from './lib/stream-load.mjs'

const ROUNDS = Number(process.env.ROUNDS ?? 15)
const N = Number(process.env.N ?? 100)
// TOKENS=1: levels of stream starts and ends with almost no tokens between.
const TOKENS = Number(process.env.TOKENS ?? 50)
const before = process.argv.find((arg) => arg.startsWith('--before='))?.slice('--before='.length)

const contenders = [
  ['naive', 'naive pass-through'],
  ['naive-hop', '+ a second web stream'],
  ['naive-hop-pad', '+ writes of ours’ size'],
  ['minimal', 'minimal Chat Completions proxy (by hand)'],
  ['ours', 'ours'],
  ...(before ? [['before', `the build of ${before}`]] : []),
]

try {
  const emulator = await startEmulator(TOKENS, 20)
  const servers = []
  for (const [name, label] of contenders) {
    servers.push({ name, label, ...(await startServer(name, emulator, { before })) })
  }
  for (const s of servers) {
    await level(s.port, 20, 30_000)
    await level(s.port, N, 30_000)
  }
  const runs = new Map(servers.map((s) => [s.name, []]))
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of servers) runs.get(s.name).push(await measureLevel(s, emulator, N, 30_000))
  }
  const of = (name, field) => median(runs.get(name).map((r) => r[field]))
  const naiveCpu = of('naive', 'cpuMs')
  const naiveAcceptCpu = of('naive', 'acceptP99CpuMs')
  console.log(
    `| ${N} streams, ${ROUNDS} rounds | server CPU | / naive | first event p50 | p99 | worst gap p99 | 99% accepted after | server CPU until then | / naive |`,
  )
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |')
  for (const s of servers) {
    const cpu = of(s.name, 'cpuMs')
    const acceptCpu = of(s.name, 'acceptP99CpuMs')
    const ms = (field) => `${of(s.name, field).toFixed(0)} ms`
    console.log(
      `| ${s.label} | ${cpu.toFixed(0)} ms | ${(cpu / naiveCpu).toFixed(2)}x | ${ms('firstP50')} | ${ms('firstP99')} | ${ms('gapP99')} | ${ms('acceptP99Ms')} | ${acceptCpu.toFixed(0)} ms | ${(acceptCpu / naiveAcceptCpu).toFixed(2)}x |`,
    )
  }
  // How often the concurrency suite (the median of 9 levels each) would find a contender within
  // 1.25x of the pass-through on all of first event p50, p99 and worst gap p99: 2,000 draws of 9
  // of this run's levels per contender.
  const draw = mulberry32(9)
  const nine = (name) =>
    Array.from({ length: 9 }, () => runs.get(name)[Math.floor(draw() * ROUNDS)])
  for (const s of servers.filter((s) => s.name !== 'naive')) {
    let met = 0
    for (let i = 0; i < 2000; i++) {
      const [mine, theirs] = [nine(s.name), nine('naive')]
      const within = (field) =>
        median(mine.map((r) => r[field])) <= 1.25 * median(theirs.map((r) => r[field]))
      if (within('firstP50') && within('firstP99') && within('gapP99')) met++
    }
    console.log(
      `${s.label}: all three 100-stream goals met in ${(met / 20).toFixed(0)}% of 9-level draws`,
    )
  }
} finally {
  await stopAllChildren()
}
