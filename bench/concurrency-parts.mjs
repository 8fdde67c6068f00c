// Where ours' extra server CPU at N paced streams goes, by hand (not in `npm run bench`): the
// concurrency suite's setup (the emulator and each server in a process of its own, this process the
// client, all N streams opened at once), with contenders that add one part of ours' work at a time
// to the naive pass-through: a second web stream between the upstream body and the HTTP adapter
// (naive-hop), then ours-sized writes (naive-hop-pad), then ours (and `--before=<dir>`, another
// build). The servers take turns, level by level; every figure is the median of ROUNDS levels.
// `node bench/concurrency-parts.mjs [--before=<dir>]` (ROUNDS=15, N=100).
import { stopAllChildren } from './lib/children.mjs'
import { median } from './lib/stats.mjs'
import { level, measureLevel, startEmulator, startServer } from './lib/stream-load.mjs'

const ROUNDS = Number(process.env.ROUNDS ?? 15)
const N = Number(process.env.N ?? 100)
const before = process.argv.find((arg) => arg.startsWith('--before='))?.slice('--before='.length)

const contenders = [
  ['naive', 'naive pass-through'],
  ['naive-hop', '+ a second web stream'],
  ['naive-hop-pad', '+ writes of ours’ size'],
  ['ours', 'ours'],
  ...(before ? [['before', `the build of ${before}`]] : []),
]

try {
  const emulator = await startEmulator(50, 20)
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
  console.log(
    `| ${N} streams, ${ROUNDS} rounds | server CPU | / naive | first event p50 | p99 | worst gap p99 |`,
  )
  console.log('| --- | --- | --- | --- | --- | --- |')
  for (const s of servers) {
    const cpu = of(s.name, 'cpuMs')
    const ms = (field) => `${of(s.name, field).toFixed(0)} ms`
    console.log(
      `| ${s.label} | ${cpu.toFixed(0)} ms | ${(cpu / naiveCpu).toFixed(2)}x | ${ms('firstP50')} | ${ms('firstP99')} | ${ms('gapP99')} |`,
    )
  }
} finally {
  await stopAllChildren()
}
