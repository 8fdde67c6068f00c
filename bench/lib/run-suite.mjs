// Runs one suite in its own process (fresh heap, no globals left by another suite) and hands its
// result back to bench/run.mjs over IPC. Usage: node run-suite.mjs <suite> '<json options>'.
const [suite, json] = process.argv.slice(2)
const options = JSON.parse(json ?? '{}')
const { run } = await import(`../suites/${suite}.mjs`)
try {
  const result = await run(options)
  process.send?.({ ok: true, result })
  if (!process.send) console.log(JSON.stringify(result, null, 2))
} catch (error) {
  process.send?.({ ok: false, error: error.stack ?? String(error) })
  if (!process.send) console.error(error)
  process.exitCode = 1
}
