import type { Locator, Page } from '@playwright/test'
import { ask, expect, replyFor, test, uniqueQuestion } from './fixtures'

// What a newcomer sees (issue 12): errors in view, long messages kept short, readable small print.

/** WCAG contrast of an element's text against the first opaque background behind it. */
async function contrastOf(locator: Locator): Promise<number> {
  return locator.evaluate((element) => {
    const rgb = (css: string) => {
      const [r = 0, g = 0, b = 0, a = 1] = (css.match(/[\d.]+/g) ?? []).map(Number)
      return { r, g, b, a }
    }
    const luminance = ({ r, g, b }: { r: number; g: number; b: number }) => {
      const lin = (c: number) => {
        const s = c / 255
        return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
      }
      return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    }
    let back: HTMLElement | null = element as HTMLElement
    let background = rgb('rgb(255, 255, 255)')
    while (back) {
      const color = rgb(getComputedStyle(back).backgroundColor)
      if (color.a === 1) {
        background = color
        break
      }
      back = back.parentElement
    }
    const style = getComputedStyle(element)
    const text = rgb(style.color)
    // Text drawn at partial opacity blends into its background.
    let opacity = text.a
    for (let e: Element | null = element; e; e = e.parentElement)
      opacity *= Number(getComputedStyle(e).opacity)
    const blended = {
      r: text.r * opacity + background.r * (1 - opacity),
      g: text.g * opacity + background.g * (1 - opacity),
      b: text.b * opacity + background.b * (1 - opacity),
    }
    const [hi, lo] = [luminance(blended), luminance(background)].sort((x, y) => y - x)
    return (hi! + 0.05) / (lo! + 0.05)
  })
}

async function bubbleHeight(page: Page): Promise<number> {
  const box = await page.locator('[data-role="user"] > div').last().boundingBox()
  return box?.height ?? 0
}

test.describe('the chat page', () => {
  test('a 413 for a too-long message shows its explanation above the box, fully in view', async ({
    page,
    emu,
  }) => {
    await page.goto('/')
    // Over the handler's default limit of 100,000 characters per message.
    const question = `${uniqueQuestion('Too long')} ${'lorem ipsum '.repeat(9_000)}`
    await ask(page, question)

    const alert = page.getByTestId('chat-error')
    await expect(alert).toContainText('The request was refused')
    await expect(page.getByTestId('status')).toHaveAttribute('data-status', 'error')
    // All of it on screen (not clipped by the scrolling log), and above the message box.
    await expect(alert).toBeInViewport({ ratio: 1 })
    const card = (await alert.boundingBox())!
    const box = (await page.getByLabel('Message').boundingBox())!
    expect(card.y + card.height).toBeLessThanOrEqual(box.y)
    const detail = alert.locator('p').nth(1)
    await expect(detail).toContainText(/100,?000|too (long|large)/i)
    await expect(detail).toBeInViewport({ ratio: 1 })
    expect(emu.requests).toHaveLength(0)

    await page.screenshot({ path: 'test-results/example-413.png' })
  })

  test('a 20,000-character message shows collapsed, with Show more and Show less', async ({
    page,
  }) => {
    await page.goto('/')
    const question = `${uniqueQuestion('Here is my log')}\n${'x'.repeat(20_000)}`
    await ask(page, question)
    await expect(page.getByTestId('status')).toHaveAttribute('data-status', 'done')
    await expect(page.getByTestId('answer').last()).toHaveText(replyFor(question))

    const message = page.locator('[data-role="user"]').last()
    const more = message.getByRole('button', { name: 'Show more' })
    await expect(more).toBeVisible()
    await expect(more).toHaveAttribute('aria-expanded', 'false')
    await expect(message).toContainText('20,') // its size, e.g. "20,035 characters"
    // Collapsed: a few lines on a 1280×800 screen, the answer in view below it.
    expect(await bubbleHeight(page)).toBeLessThan(320)
    await expect(page.getByTestId('answer').last()).toBeInViewport()
    await page.screenshot({ path: 'test-results/example-long-message.png' })

    await more.click()
    const less = message.getByRole('button', { name: 'Show less' })
    await expect(less).toHaveAttribute('aria-expanded', 'true')
    await expect(message.getByTestId('message-text')).toHaveText(question)
    expect(await bubbleHeight(page)).toBeGreaterThan(1000)

    await less.click()
    await expect(message.getByRole('button', { name: 'Show more' })).toBeVisible()
    expect(await bubbleHeight(page)).toBeLessThan(320)
  })

  for (const scheme of ['light', 'dark'] as const) {
    test(`the metadata under an answer is easy to read (${scheme})`, async ({ page }) => {
      await page.emulateMedia({ colorScheme: scheme })
      await page.goto('/')
      await ask(page, uniqueQuestion('How fast was that?'))
      await expect(page.getByTestId('status')).toHaveAttribute('data-status', 'done')

      const items = page.getByTestId('ttft').locator('xpath=..').locator('> span')
      await expect(items).toHaveCount(3) // first token, total, model
      for (const item of await items.all()) {
        // WCAG AAA (7:1) for this small print (~12 px): AA's 4.5:1 is the floor for body text.
        expect(await contrastOf(item), (await item.textContent()) ?? '').toBeGreaterThanOrEqual(7)
      }
      await page
        .getByTestId('ttft')
        .locator('xpath=../..')
        .screenshot({ path: `test-results/example-meta-${scheme}.png` })
    })
  }
})

test.describe('the plain-client page', () => {
  test('says the server cannot be reached, and leaves no empty answer box', async ({ page }) => {
    await page.goto('/vanilla.html')
    // The network refuses the request, as when the app has stopped.
    await page.route('**/api/copilot', (route) => route.abort('connectionrefused'))
    await page.getByRole('button', { name: 'Ask' }).click()

    const error = page.getByRole('alert')
    await expect(error).toContainText('Could not reach the server')
    await expect(error).not.toContainText('Failed to fetch')
    await expect(page.locator('#state')).toHaveText('Failed')
    await expect(page.locator('#answer')).toBeHidden()
    await page.screenshot({ path: 'test-results/vanilla-unreachable.png' })
  })

  test('asks for a question when the box is empty, and sends nothing', async ({ page, emu }) => {
    const posts: string[] = []
    page.on('request', (request) => {
      if (request.method() === 'POST') posts.push(request.url())
    })
    await page.goto('/vanilla.html')
    await page.getByLabel('Question').fill('   ')
    await page.getByRole('button', { name: 'Ask' }).click()

    await expect(page.getByRole('alert')).toHaveText('Type a question first.')
    await expect(page.getByLabel('Question')).toBeFocused()
    await expect(page.locator('#answer')).toBeHidden()
    expect(posts).toEqual([])
    expect(emu.requests).toHaveLength(0)

    // Typing clears the hint; the question then goes out.
    await page.getByLabel('Question').fill(uniqueQuestion('Now with words'))
    await expect(page.getByRole('alert')).toBeHidden()
    await page.getByRole('button', { name: 'Ask' }).click()
    await expect(page.locator('#state')).toHaveText(/^Done/)
    expect(emu.requests).toHaveLength(1)
  })

  test('shows the same offline banner as the React page', async ({ page }) => {
    await page.goto('/')
    const reactBanner = (await page.getByTestId('offline-banner').textContent()) ?? ''
    expect(reactBanner).toContain('Workers AI emulator')

    await page.goto('/vanilla.html')
    const banner = page.locator('#offline-banner')
    await expect(banner).toBeVisible()
    await expect(banner).toHaveText(reactBanner.replace(/\s+/g, ' ').trim())
    await page.screenshot({ path: 'test-results/vanilla-offline.png' })
  })
})
