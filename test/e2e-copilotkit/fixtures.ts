import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { test as base, expect } from '@playwright/test'
import {
  createWorkersAIEmulator,
  type EmulatorReplyInfo,
  type WorkersAIEmulator,
} from 'copilotedge/testing'

export const appDir = fileURLToPath(new URL('../../example-copilotkit/', import.meta.url))
export const nextBin = join(appDir, 'node_modules', '.bin', 'next')

/** Pause between the emulator's tokens: slow enough to watch an answer grow. */
export const TOKEN_DELAY_MS = 40

/** Answers by question: numbered words to watch grow; a long one to stop; after a tool, a summary. */
export function replyFor({ messages }: EmulatorReplyInfo): string {
  const last = messages[messages.length - 1] as { role?: string; content?: unknown } | undefined
  if (last?.role === 'tool') return `Done: ${String(last.content)} Anything else?`
  const question = typeof last?.content === 'string' ? last.content : ''
  const count = question.includes('long') ? 400 : 60
  const words = Array.from({ length: count }, (_, i) => `word${i + 1}`)
  return `You asked: ${question}. ${words.join(' ')}.`
}

async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

/** `next start` of example-copilotkit in a process group of its own, ended whole by `stop()`. */
async function startNext(env: Record<string, string>) {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const child = spawn(nextBin, ['start', '--port', String(port), '--hostname', '127.0.0.1'], {
    cwd: appDir,
    env: {
      ...process.env,
      NEXT_TELEMETRY_DISABLED: '1',
      // CopilotKit's runtime reports usage unless told not to: nothing leaves this machine.
      COPILOTKIT_TELEMETRY_DISABLED: 'true',
      DO_NOT_TRACK: '1',
      COPILOTEDGE_AGENT_URL: `${url}/api/copilot`,
      ...env,
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output: string[] = []
  const keep = (data: Buffer) => {
    output.push(data.toString())
    if (output.length > 200) output.shift()
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const pgid = child.pid
  if (pgid === undefined) throw new Error('next did not start')
  const signalGroup = (signal: NodeJS.Signals | 0) => {
    try {
      process.kill(-pgid, signal)
      return true
    } catch {
      return false
    }
  }
  const stop = async () => {
    signalGroup('SIGTERM')
    for (let i = 0; i < 50 && signalGroup(0); i++) await delay(100)
    signalGroup('SIGKILL')
  }
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`next start exited with ${child.exitCode}:\n${output.join('')}`)
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) })
      await response.body?.cancel()
      if (response.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`next start did not answer within 30 s:\n${output.join('')}`)
    }
    await delay(100)
  }
  return { url, stop, output }
}

interface App {
  url: string
  /** The app server's recent stdout and stderr. */
  output: string[]
}

export const test = base.extend<
  { emu: WorkersAIEmulator },
  { workerEmu: WorkersAIEmulator; app: App }
>({
  workerEmu: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright reads fixture names from this pattern
    async ({}, use) => {
      await use(createWorkersAIEmulator({ tokenDelayMs: TOKEN_DELAY_MS, reply: replyFor }))
    },
    { scope: 'worker' },
  ],
  app: [
    async ({ workerEmu }, use) => {
      const upstream = await workerEmu.listen({ host: '127.0.0.1', port: 0 })
      const app = await startNext({
        CLOUDFLARE_ACCOUNT_ID: workerEmu.accountId,
        CLOUDFLARE_API_TOKEN: workerEmu.apiToken,
        COPILOTEDGE_BASE_URL: upstream.baseURL,
      })
      await use({ url: app.url, output: app.output })
      await app.stop()
      await upstream.close()
    },
    { scope: 'worker', timeout: 60_000 },
  ],
  baseURL: async ({ app }, use) => {
    await use(app.url)
  },
  // Each test starts with no recorded requests and no queued faults.
  emu: async ({ workerEmu }, use) => {
    workerEmu.reset()
    await use(workerEmu)
  },
})

export { expect }

/** A question no earlier test asked, so the server's cache cannot answer it by accident. */
export function uniqueQuestion(topic: string): string {
  return `${topic} #${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
}
