import { execFile } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

// The built `copilotedge/testing` in a project that has only the package's own dependencies: no
// @hono/node-server, no hono (optional peers a user never installed). `emu.listen()` must work there.
const root = fileURLToPath(new URL('../..', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'copilotedge-listen-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const run = promisify(execFile)

function project(): string {
  const pkg = join(dir, 'node_modules', 'copilotedge')
  mkdirSync(join(dir, 'node_modules', '@noble'), { recursive: true })
  cpSync(join(root, 'dist'), join(pkg, 'dist'), { recursive: true })
  cpSync(join(root, 'package.json'), join(pkg, 'package.json'))
  // The package's dependencies, linked from the repo's install (nothing is downloaded).
  for (const dep of ['eventsource-parser', 'lru-cache', '@noble/hashes']) {
    symlinkSync(join(root, 'node_modules', dep), join(dir, 'node_modules', dep), 'dir')
  }
  writeFileSync(join(dir, 'package.json'), '{ "name": "user-project", "type": "module" }\n')
  return dir
}

// Runs in the user's project: checks @hono/node-server is not resolvable, then streams a reply and
// a client abort over `listen()`.
const SCRIPT = `
const { createRequire } = require('node:module')
const entry = process.argv[2]
let hono = 'resolvable'
try { createRequire(__filename).resolve('@hono/node-server') } catch (error) { hono = error.code }
const load = entry === 'esm' ? import('copilotedge/testing') : Promise.resolve(require('copilotedge/testing'))
load.then(async ({ createWorkersAIEmulator }) => {
  const emu = createWorkersAIEmulator({ reply: 'Hello over loopback.' })
  const server = await emu.listen()
  const ask = (signal) =>
    fetch(server.baseURL + '/accounts/emulator-account/ai/run/@cf/meta/llama-3.1-8b-instruct', {
      method: 'POST',
      headers: { authorization: 'Bearer emulator-token', 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'hi', stream: true }),
      signal,
    })
  const res = await ask()
  const body = await res.text()
  const slow = createWorkersAIEmulator({ tokens: 1000, tokenDelayMs: 20 })
  const slowServer = await slow.listen()
  const controller = new AbortController()
  const cut = await fetch(slowServer.baseURL + '/accounts/emulator-account/ai/run/@cf/meta/llama-3.1-8b-instruct', {
    method: 'POST',
    headers: { authorization: 'Bearer emulator-token' },
    body: JSON.stringify({ prompt: 'hi', stream: true }),
    signal: controller.signal,
  })
  const reader = cut.body.getReader()
  await reader.read()
  controller.abort()
  await slow.idle()
  await Promise.all([server.close(), slowServer.close()])
  console.log(JSON.stringify({ hono, url: server.baseURL, status: res.status, body, aborted: slow.requests[0].aborted }))
})
`

describe('emu.listen() from the built package, without @hono/node-server installed', () => {
  it.each(['esm', 'cjs'])(
    'serves a streamed reply over loopback and records a client abort (%s entry)',
    async (entry) => {
      expect(
        existsSync(join(root, 'dist', 'testing', 'index.js')),
        'run `npm run build` first',
      ).toBe(true)
      const cwd = existsSync(join(dir, 'package.json')) ? dir : project()
      writeFileSync(join(cwd, 'check.cjs'), SCRIPT)
      const { stdout } = await run(process.execPath, ['check.cjs', entry], { cwd, timeout: 60_000 })
      const result = JSON.parse(stdout) as {
        hono: string
        url: string
        status: number
        body: string
        aborted: boolean
      }
      expect(result.hono).toBe('MODULE_NOT_FOUND')
      expect(result.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/client\/v4$/)
      expect(result.status).toBe(200)
      const text = [...result.body.matchAll(/^data: (\{"response":"[^"]*)/gm)]
        .map((m) => JSON.parse(`${m[1]}"}`).response as string)
        .join('')
      expect(text).toBe('Hello over loopback.')
      expect(result.body.endsWith('data: [DONE]\n\n')).toBe(true)
      expect(result.aborted).toBe(true)
    },
    90_000,
  )
})
