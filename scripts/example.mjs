#!/usr/bin/env node
// `npm run example`: builds what is stale (the library's dist/, then the Next.js example), then serves
// the example on HOST:PORT (default 127.0.0.1:3000: this machine only; HOST=0.0.0.0 to share it).
// `--no-build` serves the existing build as it is. With CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN
// set it talks to Workers AI; without them it starts the Workers AI emulator on 127.0.0.1 and points the
// app at it. `next` runs in its own process group; any terminating signal (Ctrl+C, kill, a closed
// terminal's SIGHUP, SIGQUIT) ends exactly that group (never by name), then the emulator.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { appDir, buildExample, nextBin } from './build-example.mjs'

const port = Number(process.env.PORT || 3000)
const host = process.env.HOST || '127.0.0.1'
const skipBuild = process.argv.includes('--no-build')
const started = performance.now()
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' }

const tty = process.stdout.isTTY
const paint = (code, text) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text)

function log(message) {
  console.log(`${paint(2, '[example]')} ${message}`)
}

function fail(message) {
  console.error(`${paint(31, '[example]')} ${message}`)
  process.exit(1)
}

if (!Number.isInteger(port) || port < 1 || port > 65535) {
  fail(`PORT must be a port number, got ${process.env.PORT}`)
}

// A taken port is said plainly, before any build.
const probe = createServer()
const free = await new Promise((resolve) => {
  probe.once('error', () => resolve(false))
  probe.listen(port, host, () => probe.close(() => resolve(true)))
})
if (!free)
  fail(`port ${port} is in use: stop what holds it, or run PORT=${port + 1} npm run example`)

// 1. The library's dist/ (the app imports it exactly as users do), then the Next.js build.
if (skipBuild) {
  if (!existsSync(join(appDir, '.next', 'BUILD_ID')))
    fail('--no-build: example-next has no build yet; run npm run example without it once')
  log('--no-build: serving the existing build')
} else {
  try {
    buildExample({ log })
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error))
  }
}

// 2. Where answers come from.
const accountId = process.env.CLOUDFLARE_ACCOUNT_ID
const apiToken = process.env.CLOUDFLARE_API_TOKEN
let emulator
if (accountId && apiToken) {
  log(
    'answers come from Cloudflare Workers AI (CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN are set)',
  )
} else if (accountId || apiToken) {
  fail(
    `${accountId ? 'CLOUDFLARE_API_TOKEN' : 'CLOUDFLARE_ACCOUNT_ID'} is not set: set both ` +
      'CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN to use Workers AI, or neither for the offline emulator',
  )
} else {
  const { createWorkersAIEmulator } = await import('copilotedge/testing')
  const emu = createWorkersAIEmulator({ tokenDelayMs: 30, reply: demoReply })
  emulator = await emu.listen({ host: '127.0.0.1', port: 0 })
  Object.assign(env, {
    CLOUDFLARE_ACCOUNT_ID: emu.accountId,
    CLOUDFLARE_API_TOKEN: emu.apiToken,
    COPILOTEDGE_BASE_URL: emulator.baseURL,
    COPILOTEDGE_EMULATOR: '1',
  })
  log(`no Cloudflare credentials: answers come from the Workers AI emulator at ${emulator.baseURL}`)
}

// 3. Serve. `detached` puts next (and the next-server it forks) in a process group of its own.
const child = spawn(nextBin, ['start', '--port', String(port), '--hostname', host], {
  cwd: appDir,
  env,
  stdio: 'inherit',
  detached: true,
})
let stopping = false

function signalGroup(signal) {
  try {
    process.kill(-child.pid, signal)
    return true
  } catch {
    return false // the group is gone
  }
}

async function shutdown(code) {
  if (stopping) return
  stopping = true
  // next sits in a group of its own, out of reach of the terminal's signals: pass the ending on. As
  // SIGTERM whatever the signal was, which next answers with a graceful close (a SIGQUIT would dump core).
  signalGroup('SIGTERM')
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit')
  // next-server may outlive the wrapper for a moment: give the group 5 s, then SIGKILL what is left.
  for (let i = 0; i < 50 && signalGroup(0); i++) await delay(100)
  signalGroup('SIGKILL')
  await emulator?.close()
  process.exit(code)
}

// After a SIGHUP the terminal is gone: writing to it fails (EIO), which must not stop the shutdown.
process.stdout.on('error', () => {})
process.stderr.on('error', () => {})
for (const [signal, number] of [
  ['SIGHUP', 1],
  ['SIGINT', 2],
  ['SIGQUIT', 3],
  ['SIGTERM', 15],
]) {
  process.on(signal, () => void shutdown(128 + number))
}
child.on('exit', (code, signal) => {
  if (stopping) return
  log(`next exited (${signal ?? `code ${code}`})`)
  void shutdown(code ?? 1)
})

// Say where to go once the app answers.
const anyInterface = host === '0.0.0.0' || host === '::'
const url = `http://${anyInterface ? 'localhost' : host.includes(':') ? `[${host}]` : host}:${port}`
for (let i = 0; i < 600 && !stopping && child.exitCode === null; i++) {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) })
    await response.body?.cancel()
    const seconds = ((performance.now() - started) / 1000).toFixed(1)
    log(
      `${paint(1, `ready in ${seconds} s: open ${url}`)}  (plain client: ${url}/vanilla.html; Ctrl+C to stop)`,
    )
    log(
      anyInterface
        ? `listening on every network interface (HOST=${host}): other machines can reach it`
        : `listening on ${host} only (HOST=0.0.0.0 to let other machines reach it)`,
    )
    break
  } catch {
    await delay(100)
  }
}

/** The offline demo's answer: honest about where it comes from, and long enough to see it stream. */
function demoReply({ messages }) {
  const last = [...messages].reverse().find((m) => m?.role === 'user')
  const question = typeof last?.content === 'string' ? last.content.trim() : ''
  const quoted = question ? `“${question.slice(0, 200)}”` : 'that'
  const stop = /[.!?…]$/.test(question) ? '' : '.'
  return [
    `This answer comes from the copilotedge Workers AI emulator, not a real model, so it cannot really answer ${quoted}${stop}`,
    'What you are watching is the real pipeline: the emulator speaks the Workers AI REST API over HTTP on 127.0.0.1, the copilotedge handler in app/api/copilot/route.ts turns its frames into OpenAI chat.completion.chunk events, and the page renders the tokens as they arrive.',
    'Press Stop halfway and the upstream request is cancelled too. Ask the same question again in a new conversation and the answer comes straight from the cache. Set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN, then run npm run example again, to chat with Workers AI instead.',
  ].join('\n\n')
}
