import type { Page } from '@playwright/test'
import { ask, expect, replyFor, test, uniqueQuestion } from './fixtures'

// The models of example-next/app/models.ts, in the order the page shows them.
const MODELS = ['@cf/meta/llama-3.1-8b-instruct', '@cf/meta/llama-3.3-70b-instruct-fp8-fast']

// Slower tokens than the other files (so this file gets its own emulator and app): two answers must
// still be streaming while the test reads both panes and presses Stop, on a loaded machine too.
const TOKEN_DELAY_MS = 100
test.use({ tokenDelayMs: TOKEN_DELAY_MS })

const pane = (page: Page, model: string) => page.getByRole('region', { name: model, exact: true })
const answerIn = (page: Page, model: string) => pane(page, model).getByTestId('answer').last()
const statusOf = (page: Page, model: string) => pane(page, model).getByTestId('pane-status')

test.describe('the side-by-side page', () => {
  test('streams both models’ answers to one question at once, each in full', async ({
    page,
    emu,
  }) => {
    await page.goto('/')
    await page.getByRole('link', { name: 'Two models side by side' }).click()
    await expect(page).toHaveURL(/\/compare$/)
    await expect(page.getByTestId('offline-banner')).toContainText('Workers AI emulator')

    // For every DOM update (one MutationObserver callback per React commit), which panes' answers
    // changed: one commit for both panes is what the shared flush of the hooks gives.
    await page.evaluate(() => {
      const w = window as unknown as { commits: string[][] }
      w.commits = []
      new MutationObserver((records) => {
        const panes = new Set<string>()
        for (const record of records) {
          const target =
            record.target instanceof Element ? record.target : record.target.parentElement
          if (!target?.closest('[data-testid="answer"]')) continue
          const label = target.closest('section[aria-label]')?.getAttribute('aria-label')
          if (label) panes.add(label)
        }
        if (panes.size > 0) w.commits.push([...panes])
      }).observe(document.body, { subtree: true, childList: true, characterData: true })
    })

    const question = uniqueQuestion('Which is faster?')
    const full = MODELS.map((model) => replyFor(question, model))
    expect(full[0]).not.toBe(full[1])
    await ask(page, question)

    // Mid-stream in both panes at the same time, each a beginning of its own answer (read in one
    // go: the page keeps streaming while the test looks).
    for (const model of MODELS) await expect(answerIn(page, model)).toContainText('word3')
    const early = await page.evaluate((models) => {
      return models.map((model) => {
        const pane = document.querySelector(`section[aria-label="${model}"]`)
        const answers = pane?.querySelectorAll('[data-testid="answer"]')
        return {
          status: pane?.querySelector('[data-testid="pane-status"]')?.getAttribute('data-status'),
          text: answers?.[answers.length - 1]?.textContent ?? '',
        }
      })
    }, MODELS)
    for (const [i, { status, text }] of early.entries()) {
      expect(status).toBe('streaming')
      expect(text.length).toBeLessThan(full[i]!.length)
      expect(full[i]!.startsWith(text)).toBe(true)
    }

    // Animation frames held back three times for 350 ms while both answers stream (3 tokens each):
    // what arrived meanwhile renders in one commit for both panes (the hooks' shared flush), whatever
    // the phase of the two streams' tokens (100 ms apart each, so unheld frames rarely see both).
    for (let round = 0; round < 3; round++) {
      await page.evaluate(() => {
        const w = window as unknown as { held?: FrameRequestCallback[] }
        w.held = []
        window.requestAnimationFrame = (callback) => w.held!.push(callback)
      })
      await page.waitForTimeout(350)
      await page.evaluate(() => {
        const w = window as unknown as { held: FrameRequestCallback[] }
        // The prototype's own function again (the instance property shadowed it).
        delete (window as { requestAnimationFrame?: unknown }).requestAnimationFrame
        for (const callback of w.held.splice(0)) callback(performance.now())
      })
    }

    for (const [i, model] of MODELS.entries()) {
      await expect(statusOf(page, model)).toHaveAttribute('data-status', 'done')
      await expect(answerIn(page, model)).toHaveText(full[i]!)
      await expect(pane(page, model).getByTestId('ttft')).toHaveText(/^first token [\d.]+ m?s$/)
    }
    await expect(page.getByRole('button', { name: 'Send' })).toBeVisible()

    // Each held frame was one commit for both panes.
    const commits = await page.evaluate(
      () => (window as unknown as { commits: string[][] }).commits,
    )
    const both = commits.filter((panes) => panes.length === 2).length
    console.info(`${commits.length} commits changed an answer, ${both} of them both panes`)
    expect(both).toBeGreaterThanOrEqual(3)

    // One upstream request per model, each answered to the end.
    expect(emu.requests.map((r) => r.model).sort()).toEqual([...MODELS].sort())
    for (const request of emu.requests) {
      expect(request).toMatchObject({ stream: true, completed: true, aborted: false })
    }
  })

  test('Stop ends both answers on the page and aborts both upstream requests', async ({
    page,
    emu,
  }) => {
    await page.goto('/compare')
    const question = uniqueQuestion('Tell me two long stories')
    await ask(page, question)
    for (const model of MODELS) await expect(answerIn(page, model)).toContainText('word3')
    await page.getByRole('button', { name: 'Stop' }).click()

    const stopped: string[] = []
    for (const [i, model] of MODELS.entries()) {
      await expect(statusOf(page, model)).toHaveAttribute('data-status', 'aborted')
      await expect(pane(page, model).getByTestId('stopped-badge')).toBeVisible()
      const text = (await answerIn(page, model).textContent()) ?? ''
      expect(text.length).toBeGreaterThan(0)
      expect(text.length).toBeLessThan(replyFor(question, MODELS[i]).length)
      stopped.push(text)
    }

    // Nothing more arrives in either pane, for many token intervals.
    await page.waitForTimeout(TOKEN_DELAY_MS * 15)
    for (const [i, model] of MODELS.entries())
      await expect(answerIn(page, model)).toHaveText(stopped[i]!)

    // The server passed the stop on for both: the emulator saw each request go away unfinished.
    await expect.poll(() => emu.requests.filter((r) => r.aborted).length).toBe(2)
    expect(emu.requests.map((r) => r.model).sort()).toEqual([...MODELS].sort())
    for (const request of emu.requests) {
      expect(request.completed).toBe(false)
      expect(request.tokensSent).toBeLessThan(70)
    }
    await expect(page.getByRole('button', { name: 'Send' })).toBeVisible()
  })
})
