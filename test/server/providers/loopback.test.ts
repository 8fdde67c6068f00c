import type { ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import type { ProviderRequest } from '../../../src/server/providers/provider'
import { createWorkersAIProvider } from '../../../src/server/providers/workers-ai'
import { NATIVE } from './fixtures'
import { closeLoopbackUpstreams, collect, collectUntilError, loopbackUpstream } from './helpers'

// A real node:http server on loopback, reached through each transport: node:http (the default on
// Node) and fetch (config `fetch`, and every other runtime). What the upstream sees when we abort,
// break, or when the connection drops.

afterEach(closeLoopbackUpstreams)

/** An upstream whose Workers AI REST base is `baseURL`. */
async function upstream(handle: Parameters<typeof loopbackUpstream>[0]) {
  const up = await loopbackUpstream(handle)
  return { ...up, baseURL: `${up.origin}/client/v4` }
}

function request(signal: AbortSignal = new AbortController().signal): ProviderRequest {
  return {
    model: '@cf/meta/llama-3.1-8b-instruct',
    messages: [{ role: 'user', content: 'Hi' }],
    params: {},
    signal,
  }
}

function sseHead(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' })
  res.flushHeaders()
}

const TRANSPORTS = [
  ['node:http (the default on Node)', undefined],
  ['fetch', (input: string, init: RequestInit) => fetch(input, init)],
] as const

describe.each(TRANSPORTS)('Workers AI provider over loopback HTTP, through %s', (_name, fetch) => {
  const provider = (baseURL: string, apiKey = 'k') =>
    createWorkersAIProvider({ accountId: 'acc', apiKey, baseURL, ...(fetch ? { fetch } : {}) })

  it('streams a native body written frame by frame', async () => {
    let seenPath = ''
    const { baseURL } = await upstream((req, res) => {
      seenPath = req.url ?? ''
      sseHead(res)
      const frames = NATIVE.body.split(/(?<=\n\n)/)
      const write = () => {
        const frame = frames.shift()
        if (frame === undefined) return res.end()
        res.write(frame)
        setTimeout(write, 2)
      }
      write()
    })
    const workersAI = provider(baseURL)
    expect(await collect(await workersAI.stream(request()))).toEqual(NATIVE.events)
    expect(seenPath).toBe('/client/v4/accounts/acc/ai/run/@cf/meta/llama-3.1-8b-instruct')
  })

  it('aborting mid-stream rejects with the AbortError and closes the upstream connection', async () => {
    const up = await upstream((_req, res) => {
      sseHead(res)
      res.write('data: {"response":"a"}\n\n')
    })
    const controller = new AbortController()
    const workersAI = provider(up.baseURL)
    const iterator = (await workersAI.stream(request(controller.signal)))[Symbol.asyncIterator]()
    expect(await iterator.next()).toEqual({ done: false, value: { type: 'text', text: 'a' } })
    const pending = iterator.next()
    controller.abort()
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
    await up.closedEarly
  })

  it('breaking out of the loop closes the upstream connection', async () => {
    const up = await upstream((_req, res) => {
      sseHead(res)
      res.write('data: {"response":"a"}\n\n')
    })
    const workersAI = provider(up.baseURL)
    for await (const event of await workersAI.stream(request())) {
      expect(event).toEqual({ type: 'text', text: 'a' })
      break
    }
    await up.closedEarly
  })

  it('a connection dropped mid-body is a network error after the text already sent', async () => {
    const { baseURL } = await upstream((_req, res) => {
      sseHead(res)
      res.write('data: {"response":"a"}\n\n', () => setTimeout(() => res.socket?.destroy(), 10))
    })
    const workersAI = provider(baseURL)
    const { events, error } = await collectUntilError(await workersAI.stream(request()))
    expect(events).toEqual([{ type: 'text', text: 'a' }])
    expect(error).toMatchObject({ name: 'UpstreamError', kind: 'network' })
  })

  it('a refused connection is a network error that does not mention the key', async () => {
    const { baseURL, close } = await upstream(() => {})
    await close()
    const error = await provider(baseURL, 'secret-key-xyz')
      .complete(request())
      .then(
        () => undefined,
        (e: Error) => e,
      )
    expect(error).toMatchObject({ name: 'UpstreamError', kind: 'network' })
    expect(error?.message).toMatch(
      fetch
        ? /^Workers AI could not be reached: fetch failed/
        : /^Workers AI could not be reached: connect ECONNREFUSED 127\.0\.0\.1:\d+$/,
    )
    expect(error?.message).not.toContain('secret-key-xyz')
  })
})
