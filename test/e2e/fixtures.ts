import { test as base, expect, type Page } from '@playwright/test'
import { createWorkersAIEmulator, type WorkersAIEmulator } from 'copilotedge/testing'
import { appDir, nextBin } from '../../scripts/build-example.mjs'
import { startNext } from '../helpers/next-start'

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

export const test = base.extend<
  { emu: WorkersAIEmulator },
  { tokenDelayMs: number; workerEmu: WorkersAIEmulator; app: { url: string } }
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
        appDir,
        nextBin,
        env: {
          CLOUDFLARE_ACCOUNT_ID: workerEmu.accountId,
          CLOUDFLARE_API_TOKEN: workerEmu.apiToken,
          COPILOTEDGE_BASE_URL: upstream.baseURL,
          COPILOTEDGE_EMULATOR: '1',
        },
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
