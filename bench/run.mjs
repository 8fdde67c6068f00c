// `npm run bench [-- --quick] [-- --only=readers,proxy] [-- --before=<dir>] [-- --help]`: runs every benchmark on this machine, each
// suite in its own process, and prints ONE table of medians and ratios (ours / peer, measured side
// by side in the same run). A full run of every suite writes bench/results.json; a --quick or --only
// run writes bench/results.partial.json (git-ignored), so it never overwrites the full figures.
// Goals are reported, never asserted: the exit code is non-zero only if a benchmark crashed.
import { fork, spawnSync } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join, resolve } from 'node:path'
import { benchDir, rootDir } from './lib/ours.mjs'
import { renderTable } from './lib/table.mjs'

const SUITES = [
  { name: 'proxy', title: '1 proxy overhead' },
  { name: 'readers', title: '2 reader throughput' },
  { name: 'hook', title: '3 hook cost' },
  { name: 'cache', title: '4 cache' },
  { name: 'concurrency', title: '5 concurrency' },
  { name: 'shared-cache', title: '6 shared cache' },
  { name: 'protocols', title: '7 protocols' },
  { name: 'compression', title: '8 compression' },
  { name: 'prefix-cache', title: '9 prefix cache' },
  { name: 'cores', title: '10 many cores' },
]

const USAGE = `Usage: npm run bench [-- <options>]   (or: node bench/run.mjs [options])

Runs the benchmarks, each suite in its own process, and prints one table of medians and ratios.
A full run writes bench/results.json; a --quick or --only run writes bench/results.partial.json.

Options:
  --quick            smaller workloads (what CI runs: 25–50 s here)
  --only=<a,b,...>   run only these suites, any of:
                     ${SUITES.map((s) => s.name).join(', ')}
  --before=<dir>     add another build of copilotedge (a folder with its own dist/) beside ours in
                     the proxy and concurrency suites
  -h, --help         print this and exit

Environment: BENCH_COPILOTEDGE, BENCH_CONTENDERS, BENCH_LEVELS, BENCH_TELEMETRY, BENCH_AI_SDK
(see bench/README.md).`

/** Exit code 2 for a usage error: a typo must never start a silent full run. */
function usageError(message) {
  console.error(`bench/run.mjs: ${message}\n\n${USAGE}`)
  process.exit(2)
}

const args = process.argv.slice(2)
if (args.includes('--help') || args.includes('-h')) {
  console.log(USAGE)
  process.exit(0)
}
let quick = false
let only
let beforeArg
for (const arg of args) {
  if (arg === '--quick') quick = true
  else if (arg.startsWith('--only=')) only = arg.slice('--only='.length).split(',').filter(Boolean)
  else if (arg.startsWith('--before=')) beforeArg = arg.slice('--before='.length)
  else usageError(`unknown option ${JSON.stringify(arg)}`)
}
if (only) {
  const unknown = only.filter((name) => !SUITES.some((s) => s.name === name))
  if (unknown.length > 0 || only.length === 0)
    usageError(`--only= takes suite names; unknown: ${unknown.join(', ') || '(none given)'}`)
}
if (beforeArg === '') usageError('--before= needs a directory')
const suites = only ? SUITES.filter((s) => only.includes(s.name)) : SUITES
// --before=<dir>: another build of copilotedge (a folder with its own dist/, e.g. the package before
// a redesign) measured beside ours by the proxy and concurrency suites. Never in CI.
const before = beforeArg ? resolve(beforeArg) : undefined

function ensureBuilt() {
  const entries = ['server', 'client', 'react', 'testing'].map((e) =>
    join(rootDir, 'dist', e, 'index.js'),
  )
  if (entries.every((file) => existsSync(file))) return
  console.log('dist/ is missing: npm run build')
  const result = spawnSync('npm', ['run', 'build'], { cwd: rootDir, stdio: 'inherit' })
  if (result.status !== 0)
    console.log('build failed: benchmarks of ours will report what is missing')
}

function runSuite(suite) {
  return new Promise((resolve) => {
    const child = fork(
      join(benchDir, 'lib', 'run-suite.mjs'),
      [suite.name, JSON.stringify({ quick, before })],
      {
        execArgv: ['--expose-gc'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    )
    let answer = null
    // A hang is a crash; the limit is generous so a loaded machine is slow, never a failure.
    const limitSeconds = quick ? 240 : 600
    const limit = setTimeout(() => {
      answer = { ok: false, error: `${suite.name} did not finish in ${limitSeconds} s` }
      process.kill(child.pid, 'SIGKILL')
    }, limitSeconds * 1000)
    child.on('message', (message) => {
      answer = message
    })
    child.on('exit', (code) => {
      clearTimeout(limit)
      resolve(
        answer ?? { ok: false, error: `${suite.name} exited with code ${code} and no result` },
      )
    })
  })
}

ensureBuilt()
const started = Date.now()
const rows = []
const notes = []
const missing = []
const crashed = []
const durations = {}
for (const suite of suites) {
  const t0 = Date.now()
  process.stdout.write(`running ${suite.title}${quick ? ' (quick)' : ''} … `)
  const answer = await runSuite(suite)
  durations[suite.name] = (Date.now() - t0) / 1000
  console.log(`${durations[suite.name].toFixed(1)} s`)
  if (!answer.ok) {
    crashed.push({ suite: suite.name, error: answer.error })
    console.error(answer.error)
    continue
  }
  rows.push(...answer.result.rows)
  notes.push(...answer.result.notes.map((n) => `${suite.title}: ${n}`))
  missing.push(...answer.result.missing.map((m) => `${suite.title}: ${m}`))
}
const totalSeconds = (Date.now() - started) / 1000

const goals = rows.filter((r) => r.goal)
console.log()
console.log(renderTable(rows))
console.log()
for (const n of notes) console.log(`- ${n}`)
for (const m of missing) console.log(`- not measured yet: ${m}`)
for (const c of crashed) console.log(`- CRASHED: ${c.suite}`)
console.log(
  `\n${goals.filter((g) => g.met).length}/${goals.length} goals met${quick ? ' (quick mode: smaller workloads, goals reported only)' : ''}; ${totalSeconds.toFixed(0)} s on ${os.cpus().length} cores (load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}), Node ${process.version}`,
)

const results = {
  date: new Date().toISOString(),
  mode: quick ? 'quick' : 'full',
  ...(before ? { before } : {}),
  node: process.version,
  cpus: os.cpus().length,
  loadavg: os.loadavg(),
  seconds: { total: totalSeconds, ...durations },
  rows,
  goals: goals.map(({ bench, metric, contender, goal, met, value, unit, ratio }) => ({
    bench,
    metric,
    contender,
    goal,
    met,
    value,
    unit,
    ratio,
  })),
  notes,
  missing,
  crashed,
}
const file = join(benchDir, quick || only ? 'results.partial.json' : 'results.json')
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`)
console.log(`written to ${file.slice(rootDir.length + 1)}`)
if (crashed.length > 0) process.exitCode = 1
