import { expect, replyFor, test, uniqueQuestion } from './fixtures'

test('the plain-client page streams an answer with streamCopilot, and stops', async ({
  page,
  emu,
}) => {
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))
  await page.goto('/vanilla.html')

  const question = uniqueQuestion('Hello from plain JavaScript')
  await page.getByLabel('Question').fill(question)
  await page.getByRole('button', { name: 'Ask' }).click()

  const answer = page.locator('#answer')
  await expect(answer).toContainText('You asked')
  const early = (await answer.textContent()) ?? ''
  await expect(page.locator('#state')).toHaveText(/^Done · first token \d+ ms$/)
  await expect(answer).toHaveText(replyFor(question))
  expect(early.length).toBeLessThan(replyFor(question).length)

  // Stop mid-answer: the text stops and the upstream request is aborted.
  const second = uniqueQuestion('Stop me')
  await page.getByLabel('Question').fill(second)
  await page.getByRole('button', { name: 'Ask' }).click()
  await expect(answer).toContainText('word2')
  await page.getByRole('button', { name: 'Stop' }).click()
  await expect(page.locator('#state')).toHaveText('Stopped')
  await expect.poll(() => emu.requests[1]?.aborted).toBe(true)
  expect(((await answer.textContent()) ?? '').length).toBeLessThan(replyFor(second).length)
  expect(errors).toEqual([])
  // Its favicon is the app's (app/icon.svg): no 404 in the console.
  expect((await page.request.get('/icon.svg')).status()).toBe(200)
})
