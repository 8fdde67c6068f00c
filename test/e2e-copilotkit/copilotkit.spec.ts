import type { Locator, Page } from '@playwright/test'
import { expect, TOKEN_DELAY_MS, test, uniqueQuestion } from './fixtures'

// CopilotKit's own <CopilotChat> (example-copilotkit) whose runtime's agent is copilotedge over
// AG-UI, against the Workers AI emulator: what a user sees, and what the upstream saw.

async function ask(page: Page, question: string): Promise<void> {
  const box = page.getByTestId('copilot-chat-textarea')
  await box.fill(question)
  // The send button is enabled once CopilotKit has reached the runtime and found the agent; an
  // Enter before that is dropped.
  await expect(page.getByTestId('copilot-send-button')).toBeEnabled()
  await box.press('Enter')
  await expect(page.getByTestId('copilot-user-message').last()).toContainText(question)
}

const answers = (page: Page) => page.getByTestId('copilot-assistant-message')
const text = async (locator: Locator) => (await locator.textContent()) ?? ''
const running = (page: Page) => page.locator('[data-copilot-running="true"]')

test('the answer streams into CopilotChat: the visible text grows, then ends whole', async ({
  page,
  emu,
}, testInfo) => {
  await page.goto('/')
  const question = uniqueQuestion('Tell me a long story about streams')
  await ask(page, question)

  const answer = answers(page).last()
  // Mid-stream: some words shown, not yet the last (400 words at 40 ms each take ~16 s).
  await expect(answer).toContainText('word5')
  const early = (await text(answer)).length
  expect(await text(answer)).not.toContain('word400')
  await page.screenshot({ path: testInfo.outputPath('streaming.png') })

  await expect(answer).toContainText('word400.', { timeout: 40_000 })
  expect((await text(answer)).length).toBeGreaterThan(early)
  await expect(answer).toContainText(`You asked: ${question}.`)
  await expect(running(page)).toHaveCount(0)
  await page.screenshot({ path: testInfo.outputPath('finished.png') })

  // One upstream call, streamed and finished, with the user's question as its last message.
  await emu.idle()
  expect(emu.requests).toHaveLength(1)
  const [upstream] = emu.requests
  expect(upstream?.stream).toBe(true)
  expect(upstream?.completed).toBe(true)
  const messages = (upstream!.body as { messages: { role: string; content: string }[] }).messages
  expect(messages.at(-1)).toEqual({ role: 'user', content: question })
})

test("CopilotChat's stop button stops the upstream, and the next question is answered", async ({
  page,
  emu,
}, testInfo) => {
  await page.goto('/')
  await ask(page, uniqueQuestion('A long answer, please'))
  const answer = answers(page).last()
  await expect(answer).toContainText('word10')

  await page.getByTestId('copilot-send-button').click()
  await expect(running(page)).toHaveCount(0)
  // The emulator saw its client go away before the 400-word reply was sent.
  await expect.poll(() => emu.requests[0]?.aborted, { timeout: 10_000 }).toBe(true)
  expect(emu.requests[0]?.completed).toBe(false)
  const stoppedAt = await text(answer)
  expect(stoppedAt).not.toContain('word400')
  // Nothing more arrives after the stop.
  await page.waitForTimeout(TOKEN_DELAY_MS * 10)
  expect(await text(answer)).toBe(stoppedAt)
  await page.screenshot({ path: testInfo.outputPath('stopped.png') })

  // After a stop, the next question works (CopilotKit #2713: "operation was aborted").
  const next = uniqueQuestion('And now a short one')
  await ask(page, next)
  await expect(answers(page).last()).toContainText(`You asked: ${next}. word1`)
  await expect(answers(page).last()).toContainText('word60.')
  expect(emu.requests).toHaveLength(2)
})

test('a frontend tool call round-trips: setBackground runs in the page, then the answer arrives', async ({
  page,
  emu,
}, testInfo) => {
  await page.goto('/')
  await expect(page.locator('body')).not.toHaveAttribute('data-background')
  // The emulator calls a tool the question names ("background"), its argument from "in Lavender".
  await ask(page, uniqueQuestion('Set the background in Lavender'))

  await expect(page.locator('body')).toHaveAttribute('data-background', 'Lavender')
  await expect(page.locator('body')).toHaveCSS('background-color', 'rgb(230, 230, 250)')
  await expect(answers(page).last()).toContainText('Done: The background is now Lavender.')
  await expect(running(page)).toHaveCount(0)
  await page.screenshot({ path: testInfo.outputPath('tool.png') })

  // Two upstream calls: the one that asked for the tool, and the follow-up carrying its result.
  await emu.idle()
  expect(emu.requests).toHaveLength(2)
  const follow = (emu.requests[1]!.body as { messages: Record<string, unknown>[] }).messages
  const call = follow.at(-2) as { role: string; tool_calls: { id: string; function: object }[] }
  expect(call.role).toBe('assistant')
  expect(call.tool_calls[0]?.function).toEqual({
    name: 'setBackground',
    arguments: '{"color":"Lavender"}',
  })
  expect(follow.at(-1)).toMatchObject({
    role: 'tool',
    tool_call_id: call.tool_calls[0]?.id,
    content: 'The background is now Lavender.',
  })
})
