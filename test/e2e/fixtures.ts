import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { test as base, expect, type Page } from '@playwright/test'
import { createWorkersAIEmulator, type WorkersAIEmulator } from 'copilotedge/testing'
import { appDir, nextBin } from '../../scripts/build-example.mjs'

/** Pause between the emulator's tokens: slow enough to watch an answer grow, fast enough to finish. */
export const TOKEN_DELAY_MS = 40
const WORDS = 60

/** A Markdown answer, for questions that ask for one. `<b>` must show as text, never as markup. */
export const MARKDOWN_REPLY =
  'Here is **bold** and `inline code`:\n```js\nconsole.log("<b>hi</b>")\n```\nDone.'

/** Longer questions get a one-line answer (echoing them would stream for minutes). */
const LONG_QUESTION = 1000

/** The model the example's route asks for when a request names none. */
export const DEFAULT_MODEL = '@cf/meta/llama-3.1-8b-instruct'

/**
 * What the emulator answers here: the question, then numbered words (one token each). Another model
 * than the default says which it is, so two models answering one question give different texts.
 */
export function replyFor(question: string, model: string = DEFAULT_MODEL): string {
  if (question.length > LONG_QUESTION) return 'A long question; a short answer.'
  if (question.includes('markdown')) return MARKDOWN_REPLY
  const words = Array.from({ length: WORDS }, (_, i) => `word${i + 1}`)
  const by = model === DEFAULT_MODEL ? '' : ` (${model} answering)`
  return `You asked${by}: ${question}. ${words.join(' ')}.`
}

function lastUserText(messages: unknown[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i] as { role?: unknown; content?: unknown }
    if (message.role === 'user') return typeof message.content === 'string' ? message.content : ''
  }
  return ''
}

interface AppServer {
  url: string
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

async function startNext(
  env: Record<string, string>,
): Promise<AppServer & { stop(): Promise<void> }> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  // A process group of its own (`detached`), so teardown ends next and every process it forked.
  const child = spawn(nextBin, ['start', '--port', String(port), '--hostname', '127.0.0.1'], {
    cwd: appDir,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...env },
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
  return { url, stop }
}

export const test = base.extend<
  { emu: WorkersAIEmulator },
  { tokenDelayMs: number; workerEmu: WorkersAIEmulator; app: AppServer }
>({
  // The emulator's pace. A file that needs slower answers sets it with `test.use({ tokenDelayMs })`:
  // Playwright then gives that file a worker (an emulator and a `next start`) of its own.
  tokenDelayMs: [TOKEN_DELAY_MS, { scope: 'worker', option: true }],
  workerEmu: [
    async ({ tokenDelayMs }, use) => {
      const emu = createWorkersAIEmulator({
        tokenDelayMs,
        reply: ({ messages, model }) => replyFor(lastUserText(messages), model),
      })
      await use(emu)
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
        COPILOTEDGE_EMULATOR: '1',
      })
      await use({ url: app.url })
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

/** Types a question into the chat box and presses Enter. */
export async function ask(page: Page, question: string): Promise<void> {
  const box = page.getByLabel('Message')
  await box.fill(question)
  await box.press('Enter')
}

/** A question no earlier test asked, so the server's cache cannot answer it by accident. */
export function uniqueQuestion(topic: string): string {
  return `${topic} #${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
}
