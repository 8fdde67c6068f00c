import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test as base, expect } from '@playwright/test'
import {
  createWorkersAIEmulator,
  type EmulatorReplyInfo,
  type WorkersAIEmulator,
} from 'copilotedge/testing'
import { startNext } from '../helpers/next-start'

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
        appDir,
        nextBin,
        env: (url) => ({
          // CopilotKit's runtime reports usage unless told not to: nothing leaves this machine.
          COPILOTKIT_TELEMETRY_DISABLED: 'true',
          DO_NOT_TRACK: '1',
          COPILOTEDGE_AGENT_URL: `${url}/api/copilot`,
          CLOUDFLARE_ACCOUNT_ID: workerEmu.accountId,
          CLOUDFLARE_API_TOKEN: workerEmu.apiToken,
          COPILOTEDGE_BASE_URL: upstream.baseURL,
        }),
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
