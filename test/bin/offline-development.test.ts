import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { streamCopilot } from '../../src/client'

// THE "OFFLINE DEVELOPMENT FROM A PACKED TARBALL" TEST. What a newcomer does: install the published
// package into a Next.js app, paste the README's quick-start route, run `npx copilotedge emulator`,
// put the printed variables in the app's environment, `next build` + `next start`, and chat.
//
// Nothing is downloaded. The tarball is `npm pack` of this repo (needs `npm run build` first) and is
// unpacked into the scratch app's node_modules/copilotedge with its bin linked into .bin, as npm does
// (`npm install <tarball> --offline` cannot work here: npm wants registry metadata for the package's
// dependencies that its cache does not hold). The package's dependencies and next/react/typescript
// are symlinks to this repo's install, so @hono/node-server is not resolvable from the app; Turbopack
// is told it may read outside the app folder (`turbopack.root`) because those links point there.
const root = fileURLToPath(new URL('../..', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'copilotedge-offline-'))
const app = join(dir, 'app')
const run = promisify(execFile)
const started: ChildProcess[] = []

/** Ends the process group we started (next forks workers; npx runs node under npm). */
function end(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, signal)
    } catch {}
  }
}

afterAll(() => {
  for (const child of started) end(child, 'SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

function readmeRoute(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const block = /```ts\n(\/\/ app\/api\/copilot\/route\.ts\n[\s\S]*?)```/.exec(readme)?.[1]
  if (!block)
    throw new Error('README.md has no ```ts block starting with // app/api/copilot/route.ts')
  return block
}

function link(target: string, path: string): void {
  mkdirSync(join(path, '..'), { recursive: true })
  symlinkSync(target, path)
}

async function scratchApp(tarball: string): Promise<void> {
  const pkg = join(app, 'node_modules', 'copilotedge')
  mkdirSync(pkg, { recursive: true })
  await run('tar', ['-xzf', tarball, '--strip-components=1', '-C', pkg])
  const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as {
    bin: Record<string, string>
    dependencies: Record<string, string>
  }
  const repoModules = join(root, 'node_modules')
  const fromRepo = [
    ...Object.keys(manifest.dependencies),
    ...['next', 'react', 'react-dom', 'typescript', '@types/react', '@types/node'],
  ]
  for (const name of fromRepo) link(join(repoModules, name), join(app, 'node_modules', name))
  for (const [name, file] of Object.entries(manifest.bin)) {
    link(join('..', 'copilotedge', file), join(app, 'node_modules', '.bin', name))
  }
  link(join('..', 'next', 'dist', 'bin', 'next'), join(app, 'node_modules', '.bin', 'next'))
  writeFileSync(
    join(app, 'package.json'),
    `${JSON.stringify({ name: 'scratch-app', private: true, dependencies: { copilotedge: `file:${tarball}` } }, null, 2)}\n`,
  )
  writeFileSync(join(app, 'next.config.mjs'), "export default { turbopack: { root: '/' } }\n")
  mkdirSync(join(app, 'app', 'api', 'copilot'), { recursive: true })
  writeFileSync(join(app, 'app', 'api', 'copilot', 'route.ts'), readmeRoute())
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** Resolves with the output so far once `test` passes on it; rejects if the process exits first. */
function waitFor(
  child: ChildProcess,
  stream: 'stdout' | 'stderr',
  test: (text: string) => boolean,
) {
  return new Promise<string>((resolve, reject) => {
    let text = ''
    child[stream]?.setEncoding('utf8')
    child[stream]?.on('data', (chunk: string) => {
      text += chunk
      if (test(text)) resolve(text)
    })
    child.once('exit', (code) => reject(new Error(`exited with ${code} before ready:\n${text}`)))
  })
}

describe('offline development from a packed tarball', () => {
  it('a Next.js app with the README route streams the emulator reply from `npx copilotedge emulator`', async () => {
    expect(existsSync(join(root, 'dist', 'testing', 'index.js')), 'run `npm run build` first').toBe(
      true,
    )
    const times: Record<string, number> = {}
    let t = performance.now()
    const lap = (name: string) => {
      times[name] = Math.round(performance.now() - t)
      t = performance.now()
    }

    const { stdout: packed } = await run(
      'npm',
      ['pack', '--pack-destination', dir, '--silent', '--ignore-scripts'],
      { cwd: root },
    )
    const tarball = join(dir, packed.trim().split('\n').pop()!)
    lap('npm pack')
    await scratchApp(tarball)
    lap('scratch app')

    const emulator = spawn('npx', ['copilotedge', 'emulator', '--port', '0'], {
      cwd: app,
      detached: true,
      env: { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    started.push(emulator)
    let emulatorLog = ''
    emulator.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      emulatorLog += chunk
    })
    const printed = await waitFor(emulator, 'stdout', (text) =>
      /CLOUDFLARE_API_TOKEN=.*\n/.test(text),
    )
    const vars = Object.fromEntries(
      printed
        .trim()
        .split('\n')
        .map((line) => line.split('=', 2) as [string, string]),
    )
    expect(Object.keys(vars)).toEqual([
      'COPILOTEDGE_BASE_URL',
      'CLOUDFLARE_ACCOUNT_ID',
      'CLOUDFLARE_API_TOKEN',
    ])
    expect(vars.COPILOTEDGE_BASE_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/client\/v4$/)
    lap('emulator start')

    const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' }
    await run(join(app, 'node_modules', '.bin', 'next'), ['build'], {
      cwd: app,
      env,
      timeout: 300_000,
    })
    lap('next build')

    const port = await freePort()
    const next = spawn(
      join(app, 'node_modules', '.bin', 'next'),
      ['start', '-p', String(port), '-H', '127.0.0.1'],
      { cwd: app, detached: true, env: { ...env, ...vars }, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    started.push(next)
    await waitFor(next, 'stdout', (text) => text.includes('Ready'))
    lap('next start')

    const api = `http://127.0.0.1:${port}/api/copilot`
    const chat = streamCopilot({ api, messages: [{ role: 'user', content: 'Hello offline' }] })
    let deltas = 0
    for await (const _ of chat) deltas++
    expect(await chat.getFullResponse()).toBe(
      'This answer comes from the copilotedge Workers AI emulator, not a real model. You said: Hello offline',
    )
    expect(deltas).toBeGreaterThan(5)

    const get = await fetch(api)
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toBe('POST')
    expect(((await get.json()) as { error: { type: string } }).error.type).toBe(
      'invalid_request_error',
    )
    lap('requests')

    end(next)
    // SIGTERM to the group, as a terminal's Ctrl+C signals the whole foreground group: the emulator
    // says it stops and closes its port (npm itself dies of the signal: its exit code is not ours).
    end(emulator)
    await once(emulator, 'exit')
    await expect.poll(() => emulatorLog).toContain('SIGTERM, stopping the emulator')
    await expect(fetch(vars.COPILOTEDGE_BASE_URL!)).rejects.toThrow()
    console.info('offline development from a packed tarball, ms:', JSON.stringify(times))
  }, 600_000)
})
