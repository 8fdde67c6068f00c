#!/usr/bin/env node
// `copilotedge emulator`: the Workers AI emulator on a loopback port, for developing an app offline.
// A plain .mjs over the built `dist/testing` so the bin ships as is (no build step of its own).
import { parseArgs } from 'node:util'
import { createWorkersAIEmulator } from '../dist/testing/index.js'

const USAGE = `Usage: copilotedge emulator [--port N] [--host ADDRESS] [--token-delay-ms N]

Starts a local Workers AI (the copilotedge emulator) and prints the environment variables that point
a copilotedge handler at it. Its answers say they come from the emulator, not from a model.

  --port N             port to listen on (default 8799; 0 picks a free one)
  --host ADDRESS       address to listen on (default 127.0.0.1)
  --token-delay-ms N   pause between streamed tokens, to watch a UI stream (default 20)
  -h, --help           this text`

function fail(message) {
  process.stderr.write(`copilotedge: ${message}\n\n${USAGE}\n`)
  process.exit(2)
}

function count(name, text) {
  const value = Number(text)
  if (text === '' || !Number.isInteger(value) || value < 0)
    fail(`--${name} must be a whole number ≥ 0`)
  return value
}

let parsed
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      port: { type: 'string', default: '8799' },
      host: { type: 'string', default: '127.0.0.1' },
      'token-delay-ms': { type: 'string', default: '20' },
      help: { type: 'boolean', short: 'h' },
    },
  })
} catch (error) {
  fail(error.message)
}
const { values, positionals } = parsed
if (values.help) {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
}
if (positionals[0] !== 'emulator' || positionals.length > 1) {
  fail(positionals.length === 0 ? 'which command?' : `unknown command ${positionals.join(' ')}`)
}

const port = count('port', values.port)
const emu = createWorkersAIEmulator({
  tokenDelayMs: count('token-delay-ms', values['token-delay-ms']),
})
let server
try {
  server = await emu.listen({ port, host: values.host })
} catch (error) {
  const hint = error.code === 'EADDRINUSE' ? ' (in use: pick another with --port, or 0)' : ''
  process.stderr.write(
    `copilotedge: cannot listen on ${values.host}:${port}: ${error.message}${hint}\n`,
  )
  process.exit(1)
}

// Only the three assignments go to stdout (messages go to stderr), so stdout can be piped to a file.
process.stdout.write(
  [
    `COPILOTEDGE_BASE_URL=${server.baseURL}`,
    `CLOUDFLARE_ACCOUNT_ID=${emu.accountId}`,
    `CLOUDFLARE_API_TOKEN=${emu.apiToken}`,
    '',
  ].join('\n'),
)
process.stderr.write(
  `Workers AI emulator on ${server.url}: set the variables above in your app's environment ` +
    '(e.g. .env.local) and restart it. Ctrl+C stops the emulator.\n',
)

let stopping = false
async function stop(signal) {
  if (stopping) process.exit(1) // a second signal: do not wait for open streams
  stopping = true
  process.stderr.write(`copilotedge: ${signal}, stopping the emulator\n`)
  await server.close()
  process.exit(0)
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => void stop(signal))
