import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { appDir, buildExample, root } from '../../scripts/build-example.mjs'
import { freePort } from '../helpers/free-port'

// `npm run example` (scripts/example.mjs) as a person runs it: started, served, then ended the ways a
// terminal ends it. `--no-build` reuses the app already built (a `next build` takes ~35 s here); one is
// made first only when there is none.

interface Proc {
  pid: number
  pgid: number
  ppid: number
  state: string
}

/** Every process, from /proc (Linux): pid, parent, process group, state (Z = zombie). */
function processes(): Proc[] {
  const all: Proc[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // The command name may hold spaces and parentheses: fields start after its last ')'.
      const [state = '', ppid = '', pgid = ''] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      all.push({ pid: Number(entry), ppid: Number(ppid), pgid: Number(pgid), state })
    } catch {
      // exited while we looked
    }
  }
  return all
}

function descendants(pid: number): Proc[] {
  const all = processes()
  const found: Proc[] = []
  const visit = (parent: number) => {
    for (const p of all) {
      if (p.ppid === parent) {
        found.push(p)
        visit(p.pid)
      }
    }
  }
  visit(pid)
  return found
}

function alive(pid: number): boolean {
  return processes().some((p) => p.pid === pid && p.state !== 'Z')
}

/** Local addresses (hex, as /proc/net/tcp{,6} write them) with a listening socket on `port`. */
function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  const found: string[] = []
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [, local = '', , state] = line.trim().split(/\s+/)
      const [address = '', localPort] = local.split(':')
      if (localPort === hexPort && state === '0A') found.push(address)
    }
  }
  return found
}

/** Whether something accepts connections on 127.0.0.1:port. */
async function accepting(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) })
    await response.body?.cancel()
    return true
  } catch {
    return false
  }
}

/** Every process group this file started, so each test ends whatever it left. */
const groups = new Set<number>()

afterEach(async () => {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  groups.clear()
})

beforeAll(() => {
  if (!existsSync(join(appDir, '.next', 'BUILD_ID'))) buildExample({ log: () => {} })
}, 240_000)

interface Launched {
  child: ChildProcess
  pid: number
  output: () => string
  port: number
}

async function launch(env: Record<string, string> = {}): Promise<Launched> {
  const port = await freePort()
  const { HOST: _host, CLOUDFLARE_ACCOUNT_ID: _a, CLOUDFLARE_API_TOKEN: _t, ...base } = process.env
  const child = spawn(process.execPath, [join(root, 'scripts', 'example.mjs'), '--no-build'], {
    cwd: root,
    env: { ...base, PORT: String(port), ...env },
    // A group of its own: the test plays the terminal, and can end everything it started.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const pid = child.pid
  if (pid === undefined) throw new Error('the launcher did not start')
  groups.add(pid)
  let text = ''
  child.stdout?.on('data', (data: Buffer) => {
    text += data.toString()
  })
  child.stderr?.on('data', (data: Buffer) => {
    text += data.toString()
  })
  const deadline = Date.now() + 60_000
  while (!text.includes('ready in')) {
    if (child.exitCode !== null) throw new Error(`the launcher exited:\n${text}`)
    if (Date.now() > deadline) throw new Error(`not ready within 60 s:\n${text}`)
    await delay(100)
  }
  // Next's own processes sit in their own group: remember it too.
  for (const p of descendants(pid)) groups.add(p.pgid)
  return { child, pid, output: () => text, port }
}

describe('npm run example (scripts/example.mjs)', () => {
  it('serves on 127.0.0.1 only by default, and prints the address to open', async () => {
    const app = await launch()
    const url = `http://127.0.0.1:${app.port}`
    expect(app.output()).toContain(`open ${url}`)
    const page = await fetch(url)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('Offline demo')
    // 0100007F is 127.0.0.1 in /proc/net/tcp; a wildcard bind would show 00000000 or all-zero tcp6.
    expect(listeners(app.port)).toEqual(['0100007F'])
  }, 90_000)

  for (const signal of ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGQUIT'] as const) {
    it(`${signal} to the launcher frees the port and leaves no process behind`, async () => {
      const app = await launch()
      expect(await accepting(app.port)).toBe(true)
      const emulatorPort = Number(/emulator at http:\/\/127\.0\.0\.1:(\d+)/.exec(app.output())?.[1])
      expect(emulatorPort).toBeGreaterThan(0)
      expect(await accepting(emulatorPort)).toBe(true)
      const family = descendants(app.pid)
      expect(family.length).toBeGreaterThan(0)

      const exited = once(app.child, 'exit')
      process.kill(app.pid, signal)
      await exited

      expect(await accepting(app.port)).toBe(false)
      expect(await accepting(emulatorPort)).toBe(false)
      expect(family.filter((p) => alive(p.pid))).toEqual([])
      // The port can be taken again at once.
      const again = createServer().listen(app.port, '127.0.0.1')
      await once(again, 'listening')
      again.close()
    }, 90_000)
  }
})
