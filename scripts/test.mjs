#!/usr/bin/env node
// `npm test`: builds the package (tests import dist/ the way users do; SKIP_BUILD=1 skips that),
// runs vitest, then the Playwright browser tests when Debian's Chromium is installed, and ends with
// one summary line `N passed, N failed` totalled from both runners' JSON reports.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const results = join(root, 'test-results')
const vitestReport = join(results, 'vitest-report.json')
const playwrightReport = join(results, 'playwright-report.json')
const copilotkitReport = join(results, 'playwright-copilotkit-report.json')
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
// CI sets this so a missing browser fails loudly instead of being skipped.
const requireBrowser = process.env.REQUIRE_BROWSER_TESTS === '1'
const bin = (name) => join(root, 'node_modules', '.bin', name)

mkdirSync(results, { recursive: true })
for (const file of [vitestReport, playwrightReport, copilotkitReport]) rmSync(file, { force: true })

function run(command, args, env = {}) {
  const child = spawnSync(command, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...env },
  })
  return child.status ?? 1
}

let failedSteps = 0
// CI builds once (on Node 20) and then runs vitest under other Node versions with SKIP_BUILD=1;
// whichever `node` is first on PATH runs vitest and the child processes the tests start.
if (process.env.SKIP_BUILD !== '1' && run('npm', ['run', '--silent', 'build']) !== 0) failedSteps++

const vitestArgs = process.argv.slice(2)
if (
  run(bin('vitest'), [
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${vitestReport}`,
    ...vitestArgs,
  ]) !== 0
)
  failedSteps++

let browserNote = ''
if (vitestArgs.length > 0) {
  browserNote = ' (browser tests not run: vitest filter given)'
} else if (existsSync(chromium)) {
  if (run(bin('playwright'), ['test'], { PLAYWRIGHT_JSON_OUTPUT_NAME: playwrightReport }) !== 0)
    failedSteps++
  // CopilotKit's own chat against copilotedge: its app is a package of its own (example-copilotkit).
  if (existsSync(join(root, 'example-copilotkit', 'node_modules', '.bin', 'next'))) {
    const config = ['test', '--config', 'test/e2e-copilotkit/playwright.config.ts']
    const env = { PLAYWRIGHT_JSON_OUTPUT_NAME: copilotkitReport, SKIP_BUILD: '1' }
    if (run(bin('playwright'), config, env) !== 0) failedSteps++
  } else if (requireBrowser) {
    console.error('CopilotKit browser tests required: run `npm ci --prefix example-copilotkit`')
    failedSteps++
  } else {
    browserNote = ' (CopilotKit tests skipped: `npm ci --prefix example-copilotkit` to run them)'
  }
} else if (requireBrowser) {
  console.error(`Browser tests required but Chromium is missing at ${chromium}`)
  failedSteps++
} else {
  browserNote = ` (browser tests skipped: no Chromium at ${chromium}; apt-get install -y chromium)`
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    return undefined
  }
}

let passed = 0
let failed = 0
let skipped = 0
/** `file > test` of every failed test, so that a log's tail says which failed. */
const failures = []
const vitest = readJson(vitestReport)
if (vitest) {
  for (const suite of vitest.testResults ?? []) {
    const file = suite.name?.startsWith(root) ? suite.name.slice(root.length + 1) : suite.name
    const failedTests = (suite.assertionResults ?? []).filter((test) => test.status === 'failed')
    for (const test of failedTests) failures.push(`${file} > ${test.fullName}`)
    if (suite.status === 'failed' && failedTests.length === 0)
      failures.push(`${file} (did not run)`)
  }
  passed += vitest.numPassedTests ?? 0
  failed += vitest.numFailedTests ?? 0
  skipped += (vitest.numPendingTests ?? 0) + (vitest.numTodoTests ?? 0)
  // A suite that failed to load has no failed tests of its own: count it so it can't hide.
  failed += (vitest.testResults ?? []).filter(
    (suite) => suite.status === 'failed' && (suite.assertionResults ?? []).length === 0,
  ).length
} else {
  failed++
}
/** Playwright's specs that did not pass, however deep their describe blocks nest. */
function playwrightFailures(suite) {
  const specs = (suite.specs ?? []).filter((spec) => !spec.ok)
  return [
    ...specs.map((spec) => `${spec.file} > ${spec.title}`),
    ...(suite.suites ?? []).flatMap(playwrightFailures),
  ]
}
for (const playwright of [readJson(playwrightReport), readJson(copilotkitReport)]) {
  if (!playwright?.stats) continue
  for (const suite of playwright.suites ?? []) failures.push(...playwrightFailures(suite))
  passed += (playwright.stats.expected ?? 0) + (playwright.stats.flaky ?? 0)
  failed += playwright.stats.unexpected ?? 0
  skipped += playwright.stats.skipped ?? 0
}
if (failed === 0 && failedSteps > 0) failed = failedSteps

const summary = `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`
writeFileSync(join(results, 'summary.txt'), `${summary}\n`)
writeFileSync(join(results, 'failures.txt'), failures.map((name) => `${name}\n`).join(''))
for (const name of failures) console.log(`FAILED: ${name}`)
if (browserNote) console.log(browserNote.trim())
console.log(summary)
process.exit(failed > 0 || failedSteps > 0 ? 1 : 0)
