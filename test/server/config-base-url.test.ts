import { afterEach, describe, expect, it, vi } from 'vitest'
import { createCopilotEdgeHandler } from '../../src/server'
import { createWorkersAIEmulator } from '../../src/testing'

const chat = () =>
  new Request('http://localhost/api/copilot', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'Hello' }] }),
  })

/** A fetch that answers the emulator's URLs and records every URL it was asked for. */
function recordingFetch(emu: ReturnType<typeof createWorkersAIEmulator>) {
  const urls: string[] = []
  const fetchImpl: typeof fetch = (input, init) => {
    urls.push(input instanceof Request ? input.url : String(input))
    return emu.fetchImpl(input, init)
  }
  return { urls, fetchImpl }
}

describe('COPILOTEDGE_BASE_URL', () => {
  afterEach(() => {
    vi.unstubAllEnvs()
  })

  it('points a handler without baseURL at the URL in the environment (the emulator)', async () => {
    const emu = createWorkersAIEmulator({ reply: 'From the env base URL.' })
    vi.stubEnv('COPILOTEDGE_BASE_URL', emu.baseURL)
    vi.stubEnv('CLOUDFLARE_ACCOUNT_ID', emu.accountId)
    vi.stubEnv('CLOUDFLARE_API_TOKEN', emu.apiToken)
    const { urls, fetchImpl } = recordingFetch(emu)
    const res = await createCopilotEdgeHandler({ fetch: fetchImpl })(chat())
    expect(res.status).toBe(200)
    const body = (await res.json()) as { choices: Array<{ message: { content: string } }> }
    expect(body.choices[0]?.message.content).toBe('From the env base URL.')
    expect(urls[0]).toMatch(
      /^http:\/\/workers-ai\.emulator\/client\/v4\/accounts\/emulator-account\//,
    )
  })

  it('is overridden by an explicit baseURL, and an empty baseURL counts as not set', async () => {
    const emu = createWorkersAIEmulator()
    vi.stubEnv('COPILOTEDGE_BASE_URL', 'http://elsewhere.invalid/client/v4')
    const explicit = recordingFetch(emu)
    const handler = createCopilotEdgeHandler({
      apiKey: emu.apiToken,
      accountId: emu.accountId,
      baseURL: emu.baseURL,
      fetch: explicit.fetchImpl,
    })
    expect((await handler(chat())).status).toBe(200)
    expect(explicit.urls[0]).toMatch(/^http:\/\/workers-ai\.emulator\//)

    // `baseURL: process.env.COPILOTEDGE_BASE_URL` of an unset variable can be '' in some hosts.
    vi.stubEnv('COPILOTEDGE_BASE_URL', emu.baseURL)
    const empty = recordingFetch(emu)
    const fromEnv = createCopilotEdgeHandler({
      apiKey: emu.apiToken,
      accountId: emu.accountId,
      baseURL: '',
      fetch: empty.fetchImpl,
    })
    expect((await fromEnv(chat())).status).toBe(200)
    expect(empty.urls[0]).toMatch(/^http:\/\/workers-ai\.emulator\//)
  })

  it('leaves the default Cloudflare URL when neither is set', async () => {
    vi.stubEnv('COPILOTEDGE_BASE_URL', '')
    const urls: string[] = []
    const handler = createCopilotEdgeHandler({
      apiKey: 'token',
      accountId: 'acct',
      retry: false,
      fetch: async (input) => {
        urls.push(String(input))
        return new Response('{}', { status: 500 })
      },
    })
    await handler(chat())
    expect(urls[0]).toMatch(
      /^https:\/\/api\.cloudflare\.com\/client\/v4\/accounts\/acct\/ai\/run\//,
    )
  })
})
