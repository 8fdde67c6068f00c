import type { Page, Request, Route } from '@playwright/test'
import { ask, expect, replyFor, test, uniqueQuestion } from './fixtures'

// The example's route has `resume: true` and its chat uses the conversation id `example-chat`: the
// hook keeps the answer in flight in sessionStorage, and a reload picks it up with one GET ?stream=.
// A reload (and a cold first request) takes about a second, longer than the other files' whole
// answer: here the emulator paces its ~64 tokens slowly (about 8 s an answer), so a reload early in
// the answer lands while the upstream is still generating it.
const SLOW_TOKEN_MS = 120
test.use({ tokenDelayMs: SLOW_TOKEN_MS })

/** The requests the page makes to the route, in order: `POST`, `GET ?stream=…`, `DELETE ?stream=…`. */
function recordApiRequests(page: Page): string[] {
  const seen: string[] = []
  page.on('request', (request: Request) => {
    const url = new URL(request.url())
    if (url.pathname !== '/api/copilot') return
    seen.push(`${request.method()} ${url.search}`)
  })
  return seen
}

/** Holds every `GET ?stream=` until `release()`: the page stays in 'reconnecting' meanwhile. */
async function holdResumeGets(page: Page): Promise<{ held: () => number; release: () => void }> {
  let open: (() => void) | undefined
  const gate = new Promise<void>((resolve) => {
    open = resolve
  })
  let held = 0
  await page.route(
    (url) => url.pathname === '/api/copilot' && url.searchParams.has('stream'),
    async (route: Route) => {
      if (route.request().method() !== 'GET') return route.continue()
      held++
      await gate
      await route.continue()
    },
  )
  return { held: () => held, release: () => open?.() }
}

test.describe('resumable streams on the chat page', () => {
  test('a reload mid-answer continues it where it was: one upstream call, one POST, a GET ?stream=', async ({
    page,
    emu,
  }, testInfo) => {
    const api = recordApiRequests(page)
    await page.goto('/')
    const question = uniqueQuestion('Survive a reload')
    const full = replyFor(question)
    await ask(page, question)

    const answer = page.getByTestId('answer').last()
    await expect(answer).toContainText('word3')
    const before = (await answer.textContent()) ?? ''
    expect(full.startsWith(before)).toBe(true)
    expect(before.length).toBeLessThan(full.length)

    const gets = await holdResumeGets(page)
    await page.reload()

    // Back from sessionStorage before the GET is answered: the question, the partial answer (at
    // least what was shown before the reload, never anything else) and the Reconnecting… badge.
    const status = page.getByTestId('status')
    await expect(status).toHaveAttribute('data-status', 'reconnecting')
    await expect(status).toHaveText('Reconnecting…')
    await expect.poll(gets.held).toBe(1)
    const restored = (await answer.textContent()) ?? ''
    expect(restored.startsWith(before)).toBe(true)
    expect(full.startsWith(restored)).toBe(true)
    expect(restored.length).toBeLessThan(full.length)
    await expect(page.locator('[data-role="user"]')).toHaveText([`You said:${question}`])
    await expect(page.getByRole('button', { name: 'Stop' })).toBeVisible()
    const reconnecting = testInfo.outputPath('resume-reconnecting.png')
    await page.screenshot({ path: reconnecting })
    await testInfo.attach('after the reload, before the GET is answered', {
      path: reconnecting,
      contentType: 'image/png',
    })

    // The upstream ran on while nobody read it; the GET picks the answer up after Last-Event-ID.
    gets.release()
    await expect(status).toHaveAttribute('data-status', 'streaming')
    await expect
      .poll(async () => ((await answer.textContent()) ?? '').length)
      .toBeGreaterThan(restored.length)
    const resuming = testInfo.outputPath('resume-streaming.png')
    await page.screenshot({ path: resuming })
    await testInfo.attach('resumed, still streaming', { path: resuming, contentType: 'image/png' })

    await expect(status).toHaveAttribute('data-status', 'done')
    // The whole answer, exactly once: nothing repeated at the seam, nothing missing.
    await expect(page.locator('[data-role="assistant"]')).toHaveCount(1)
    await expect(answer).toHaveText(full)
    expect(await answer.textContent()).toBe(full)
    const done = testInfo.outputPath('resume-done.png')
    await page.screenshot({ path: done })
    await testInfo.attach('resumed answer finished', { path: done, contentType: 'image/png' })

    // One upstream call, which ran to its end; the prompt was POSTed once, then one resume GET.
    expect(emu.requests).toHaveLength(1)
    expect(emu.requests[0]).toMatchObject({ stream: true, completed: true, aborted: false })
    expect(api.filter((line) => line.startsWith('POST '))).toEqual(['POST '])
    const resumes = api.filter((line) => line.startsWith('GET ?stream='))
    expect(resumes.length).toBeGreaterThanOrEqual(1)
    expect(api.filter((line) => line.startsWith('DELETE '))).toEqual([])
    // The record is gone once the answer ended: a later reload would send no GET.
    expect(
      await page.evaluate(() => sessionStorage.getItem('copilotedge:stream:example-chat')),
    ).toBeNull()
  })

  test('Stop on a resumed answer aborts the upstream within 300 ms', async ({
    page,
    emu,
  }, testInfo) => {
    const api = recordApiRequests(page)
    await page.goto('/')
    const question = uniqueQuestion('Stop after a reload')
    const full = replyFor(question)
    await ask(page, question)

    const answer = page.getByTestId('answer').last()
    await expect(answer).toContainText('word3')
    await page.reload()

    // Resumed: the GET answered and new text arrives after the reload.
    const status = page.getByTestId('status')
    await expect(status).toHaveAttribute('data-status', 'streaming')
    const resumed = (await answer.textContent()) ?? ''
    await expect
      .poll(async () => ((await answer.textContent()) ?? '').length)
      .toBeGreaterThan(resumed.length)
    expect(emu.requests).toHaveLength(1)
    expect(emu.requests[0]?.aborted).toBe(false)

    const deleted = page.waitForResponse(
      (response) =>
        response.request().method() === 'DELETE' &&
        new URL(response.url()).searchParams.has('stream'),
    )
    // When the page itself saw the click (wall clock: the browser and this process share it).
    await page.evaluate(() => {
      document.addEventListener(
        'click',
        () => {
          ;(window as unknown as { stopClickedAt: number }).stopClickedAt = Date.now()
        },
        { capture: true, once: true },
      )
    })
    const started = Date.now()
    await page.getByRole('button', { name: 'Stop' }).click()
    // Poll with a deadline: the DELETE reaches the handler, which aborts its upstream fetch. The
    // deadline is longer than the bound so that a miss says by how much (or that it never came).
    let abortedAt: number | undefined
    while (Date.now() - started < 3000) {
      if (emu.requests[0]?.aborted) {
        abortedAt = Date.now()
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
    const stopAnswer = await deleted
    const clickedAt = await page.evaluate(
      () => (window as unknown as { stopClickedAt: number }).stopClickedAt,
    )
    const timing = stopAnswer.request().timing()
    const abortedAfterMs = abortedAt === undefined ? undefined : abortedAt - clickedAt
    const report = [
      `upstream aborted ${abortedAfterMs ?? 'NOT (3 s)'} ms after the page saw the Stop click`,
      `(${abortedAt === undefined ? '-' : abortedAt - started} ms after click() was called;`,
      `DELETE ${stopAnswer.status()} sent ${Math.round(timing.startTime - clickedAt)} ms after the click,`,
      `answered in ${Math.round(timing.responseEnd)} ms)`,
    ].join(' ')
    console.info(report)
    testInfo.annotations.push({ type: 'stop timing', description: report })
    expect(stopAnswer.status()).toBe(204)
    expect(abortedAfterMs, 'the emulator saw the upstream request aborted').toBeDefined()
    expect(abortedAfterMs).toBeLessThan(300)

    await expect(status).toHaveAttribute('data-status', 'aborted')
    await expect(status).toHaveText('Stopped')
    await expect(page.getByTestId('stopped-badge')).toBeVisible()
    const stopped = (await answer.textContent()) ?? ''
    expect(full.startsWith(stopped)).toBe(true)
    expect(stopped.length).toBeLessThan(full.length)
    // Nothing more arrives, and the upstream did not finish the answer.
    await page.waitForTimeout(SLOW_TOKEN_MS * 5)
    await expect(answer).toHaveText(stopped)
    expect(emu.requests).toHaveLength(1)
    expect(emu.requests[0]).toMatchObject({ aborted: true, completed: false })

    expect(api.filter((line) => line.startsWith('POST '))).toEqual(['POST '])
    expect(api.some((line) => line.startsWith('GET ?stream='))).toBe(true)
    const deletes = api.filter((line) => line.startsWith('DELETE ?stream='))
    expect(deletes).toHaveLength(1)
    // The stop named the stream the GET resumed.
    expect(api).toContain(`GET ${deletes[0]!.slice('DELETE '.length)}`)
    const shot = testInfo.outputPath('resume-stopped.png')
    await page.screenshot({ path: shot })
    await testInfo.attach('stopped after the resume', { path: shot, contentType: 'image/png' })

    // A stopped answer is forgotten: a later reload would send no GET.
    expect(
      await page.evaluate(() => sessionStorage.getItem('copilotedge:stream:example-chat')),
    ).toBeNull()
  })
})
