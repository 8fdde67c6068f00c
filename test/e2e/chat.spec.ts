import { ask, expect, replyFor, TOKEN_DELAY_MS, test, uniqueQuestion } from './fixtures'

test.describe('the chat page', () => {
  test('streams an answer in token by token, from the offline emulator', async ({ page, emu }) => {
    await page.goto('/')
    await expect(page.getByTestId('offline-banner')).toContainText('Workers AI emulator')

    // Record every length the answer takes, with the time, as the browser renders it.
    await page.evaluate(() => {
      const w = window as unknown as { growth: Array<[number, number]> }
      w.growth = []
      new MutationObserver(() => {
        const answers = document.querySelectorAll('[data-testid="answer"]')
        const text = answers[answers.length - 1]?.textContent ?? ''
        const last = w.growth.at(-1)
        if (!last || last[1] !== text.length) w.growth.push([performance.now(), text.length])
      }).observe(document.body, { subtree: true, childList: true, characterData: true })
    })

    const question = uniqueQuestion('What are Server-Sent Events?')
    const full = replyFor(question)
    await ask(page, question)
    await expect(page.locator('[data-role="user"]').last()).toHaveText(`You said:${question}`)

    // Mid-stream: some text, not all of it, while the Stop button is offered.
    const answer = page.getByTestId('answer').last()
    await expect(answer).toContainText('You asked')
    const early = (await answer.textContent()) ?? ''
    await expect(page.getByTestId('status')).toHaveAttribute('data-status', 'streaming')
    await expect(page.getByRole('button', { name: 'Stop' })).toBeVisible()
    expect(early.length).toBeLessThan(full.length)
    expect(full.startsWith(early)).toBe(true)
    await expect
      .poll(async () => ((await answer.textContent()) ?? '').length)
      .toBeGreaterThan(early.length)

    // The end: the whole reply, the time to first token, and the Send button back.
    await expect(page.getByTestId('status')).toHaveAttribute('data-status', 'done')
    await expect(answer).toHaveText(full)
    await expect(page.getByTestId('ttft')).toHaveText(/^first token \d+ ms$/)
    await expect(page.getByRole('button', { name: 'Send' })).toBeVisible()
    await expect(page.getByTestId('cached-badge')).toHaveCount(0)

    // It grew in many steps over time, not in one block at the end.
    const growth = await page.evaluate(
      () => (window as unknown as { growth: Array<[number, number]> }).growth,
    )
    const steps = growth.filter(([, length]) => length > 0)
    expect(steps.length).toBeGreaterThanOrEqual(10)
    const first = steps[0]!
    const last = steps.at(-1)!
    expect(last[1]).toBe(full.length)
    expect(last[0] - first[0]).toBeGreaterThan(TOKEN_DELAY_MS * 20)

    expect(emu.requests).toHaveLength(1)
    expect(emu.requests[0]).toMatchObject({ stream: true, completed: true, aborted: false })
  })

  test('Stop ends the answer on the page and aborts the upstream request', async ({
    page,
    emu,
  }) => {
    await page.goto('/')
    const question = uniqueQuestion('Tell me a long story')
    const full = replyFor(question)
    await ask(page, question)

    const answer = page.getByTestId('answer').last()
    await expect(answer).toContainText('word3')
    await page.getByRole('button', { name: 'Stop' }).click()

    await expect(page.getByTestId('status')).toHaveAttribute('data-status', 'aborted')
    await expect(page.getByTestId('status')).toHaveText('Stopped')
    await expect(page.getByTestId('stopped-badge')).toBeVisible()
    await expect(page.getByTestId('ttft')).toBeVisible()
    const stopped = (await answer.textContent()) ?? ''
    expect(stopped.length).toBeGreaterThan(0)
    expect(stopped.length).toBeLessThan(full.length)

    // Nothing more arrives: the text stays as it was, for many token intervals.
    await page.waitForTimeout(TOKEN_DELAY_MS * 15)
    await expect(answer).toHaveText(stopped)

    // The server passed the stop on: the emulator saw its request go away before the reply finished.
    await expect.poll(() => emu.requests[0]?.aborted).toBe(true)
    expect(emu.requests).toHaveLength(1)
    expect(emu.requests[0]?.completed).toBe(false)
    expect(emu.requests[0]!.tokensSent).toBeLessThan(70)
    await expect(page.getByRole('button', { name: 'Send' })).toBeVisible()
  })

  for (const [label, draft] of [
    ['a draft typed', 'a follow-up I am still writing'],
    ['the box empty', ''],
  ] as const) {
    test(`Stop sends no second request and keeps the box as it was (${label})`, async ({
      page,
      emu,
    }) => {
      const posts: string[] = []
      page.on('request', (request) => {
        if (request.method() === 'POST' && new URL(request.url()).pathname === '/api/copilot')
          posts.push(request.postData() ?? '')
      })
      await page.goto('/')
      await ask(page, uniqueQuestion('Stop while I type'))
      await expect(page.getByTestId('answer').last()).toContainText('word3')

      const box = page.getByLabel('Message')
      await box.fill(draft)
      await page.getByRole('button', { name: 'Stop' }).click()

      await expect(page.getByTestId('status')).toHaveAttribute('data-status', 'aborted')
      await expect(page.getByTestId('status')).toHaveText('Stopped')
      await expect.poll(() => emu.requests[0]?.aborted).toBe(true)
      // Long enough for a stray submit to reach the emulator, and to stream a few tokens if it did.
      await page.waitForTimeout(TOKEN_DELAY_MS * 10)
      await expect(page.getByTestId('status')).toHaveText('Stopped')
      expect(posts).toHaveLength(1)
      expect(emu.requests).toHaveLength(1)
      await expect(box).toHaveValue(draft)
      await expect(page.locator('[data-role="user"]')).toHaveCount(1)
    })
  }

  test('the same question in a new chat is answered from the cache, with a badge', async ({
    page,
    emu,
  }, testInfo) => {
    await page.goto('/')
    const question = uniqueQuestion('What is Workers AI?')
    const full = replyFor(question)

    await ask(page, question)
    await expect(page.getByTestId('status')).toHaveAttribute('data-status', 'done')
    await expect(page.getByTestId('cached-badge')).toHaveCount(0)
    expect(emu.requests).toHaveLength(1)

    await page.getByRole('button', { name: 'New chat' }).click()
    await expect(page.getByTestId('answer')).toHaveCount(0)
    await ask(page, question)
    await expect(page.getByTestId('status')).toHaveAttribute('data-status', 'done')
    await expect(page.getByTestId('cached-badge')).toBeVisible()
    await expect(page.getByTestId('answer').last()).toHaveText(full)
    await expect(page.getByTestId('ttft')).toBeVisible()
    // Served by the handler's cache: the upstream was not asked again.
    expect(emu.requests).toHaveLength(1)

    // A follow-up question in the same conversation is a new request, streamed from upstream.
    const followUp = uniqueQuestion('And how fast is it?')
    await ask(page, followUp)
    await expect(page.getByTestId('status')).toHaveAttribute('data-status', 'done')
    await expect(page.getByTestId('answer').last()).toHaveText(replyFor(followUp))
    await expect(page.getByTestId('cached-badge')).toHaveCount(1)
    expect(emu.requests).toHaveLength(2)

    const screenshot = 'test-results/example-chat.png'
    await page.screenshot({ path: screenshot })
    await testInfo.attach('chat page', { path: screenshot, contentType: 'image/png' })
  })

  test('an upstream failure shows a readable message, and Try again recovers', async ({
    page,
    emu,
  }) => {
    await page.goto('/')
    // Every attempt the handler makes (the first and its retries) gets a 500; more than enough.
    emu.fault(Array.from({ length: 10 }, () => ({ type: 'status' as const, status: 500 })))
    const question = uniqueQuestion('Will this fail?')
    await ask(page, question)

    const alert = page.getByTestId('chat-error')
    await expect(alert).toBeVisible()
    await expect(alert).toContainText('The AI service failed to answer')
    const message = (await alert.textContent()) ?? ''
    expect(message).not.toMatch(/[{}]|"error"/)
    expect(message.length).toBeGreaterThan(40)
    await expect(page.getByTestId('status')).toHaveAttribute('data-status', 'error')
    // The question stays on the page.
    await expect(page.locator('[data-role="user"]')).toHaveCount(1)
    expect(emu.requests.length).toBeGreaterThanOrEqual(1)
    expect(emu.requests.every((r) => r.status === 500)).toBe(true)

    // The upstream recovers (the faults left over are dropped).
    emu.reset()
    await page.getByRole('button', { name: 'Try again' }).click()
    await expect(page.getByTestId('status')).toHaveAttribute('data-status', 'done')
    await expect(page.getByTestId('answer').last()).toHaveText(replyFor(question))
    await expect(alert).toHaveCount(0)
    await expect(page.locator('[data-role="user"]')).toHaveCount(1)
    expect(emu.requests).toHaveLength(1)
  })

  test('an error in the middle of an answer keeps the partial text and says what happened', async ({
    page,
    emu,
  }) => {
    await page.goto('/')
    emu.fault({ type: 'error-frame', afterTokens: 8 })
    const question = uniqueQuestion('Break halfway')
    await ask(page, question)

    const alert = page.getByTestId('chat-error')
    await expect(alert).toContainText('The answer failed part-way')
    expect((await alert.textContent()) ?? '').not.toMatch(/[{}]/)
    const partial = (await page.getByTestId('answer').last().textContent()) ?? ''
    expect(partial.length).toBeGreaterThan(0)
    expect(replyFor(question).startsWith(partial)).toBe(true)
    expect(partial.length).toBeLessThan(replyFor(question).length)
  })

  test('renders Markdown code blocks, inline code and bold as text, never as markup', async ({
    page,
  }) => {
    await page.goto('/')
    await ask(page, uniqueQuestion('Answer in markdown'))
    await expect(page.getByTestId('status')).toHaveAttribute('data-status', 'done')

    const answer = page.getByTestId('answer').last()
    await expect(answer.locator('strong')).toHaveText('bold')
    await expect(answer.locator(':scope > code')).toHaveText('inline code')
    await expect(answer.locator('pre code')).toHaveText('console.log("<b>hi</b>")')
    // The model's `<b>` is shown, not obeyed.
    await expect(answer.locator('b')).toHaveCount(0)
    await expect(answer).toHaveText('Here is bold and inline code:console.log("<b>hi</b>")Done.')
    await answer.screenshot({ path: 'test-results/example-markdown.png' })
  })
})
