import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { EmulatorServer } from '../../src/testing'
import { createWorkersAIEmulator } from '../../src/testing'
import {
  type StartedWorkers,
  startStoreWorkers,
} from '../server/stores/cloudflare/miniflare-workers'
import { contentOf, readThenCut } from './stream-helpers'

// Two Workers on workerd (one Miniflare, each Worker on its own socket) sharing one KV namespace
// and one Durable Object namespace, as two deployments of one account binding the same ones; a
// second pair shares the Cache API instead of KV. The emulator runs here in Node on 127.0.0.1 and
// the Workers reach it through their own fetch. No Cloudflare account, no network.

const RATE_LIMIT = 5
/** The stream store's lease in the Workers: a dead writer's readers learn it within about this. */
const LEASE_MS = 1_000
const TOKENS = 40
/** What the slow emulator answers: TOKENS tokens, one every 25 ms (about a second). */
const SLOW_TEXT = Array.from({ length: TOKENS }, (_, i) => `tok${i} `).join('')

const emulator = createWorkersAIEmulator({
  reply: ({ messages }) => `Answer to ${JSON.stringify(messages.at(-1))}`,
})
const slowEmulator = createWorkersAIEmulator({ tokens: TOKENS, tokenDelayMs: 25 })
let upstream: EmulatorServer
let slowUpstream: EmulatorServer
let workers: StartedWorkers

beforeAll(async () => {
  upstream = await emulator.listen({ port: 0 })
  slowUpstream = await slowEmulator.listen({ port: 0 })
  const vars = {
    CLOUDFLARE_API_TOKEN: emulator.apiToken,
    CLOUDFLARE_ACCOUNT_ID: emulator.accountId,
    WORKERS_AI_BASE_URL: upstream.baseURL,
    RATE_LIMIT: String(RATE_LIMIT),
  }
  const streaming = { SLOW_BASE_URL: slowUpstream.baseURL, LEASE_MS: String(LEASE_MS) }
  workers = await startStoreWorkers([
    { name: 'a', vars: { ...vars, ...streaming, WORKER_NAME: 'a' } },
    { name: 'b', vars: { ...vars, ...streaming, WORKER_NAME: 'b' } },
    { name: 'c', vars: { ...vars, CACHE_KIND: 'cache-api' } },
    { name: 'd', vars: { ...vars, CACHE_KIND: 'cache-api' } },
    { name: 'e', vars: { ...vars, CACHE_KIND: 'cache-api', NO_WAIT_UNTIL: '1' } },
  ])
})
afterAll(async () => {
  await workers?.dispose()
  await upstream?.close()
  await slowUpstream?.close()
})

let clients = 0
/** A client IP of its own, so each test starts with a full bucket. */
const nextClient = () => `203.0.113.${++clients}`

async function ask(worker: string, question: string, init: { stream: boolean; client?: string }) {
  const response = await fetch(`${workers.origins[worker]}/api/copilot`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'CF-Connecting-IP': init.client ?? nextClient(),
    },
    body: JSON.stringify({ messages: [{ role: 'user', content: question }], stream: init.stream }),
  })
  const body = await response.text()
  let text = ''
  if (response.ok && init.stream) {
    for (const line of body.split('\n')) {
      if (!line.startsWith('data: {')) continue
      const chunk = JSON.parse(line.slice(6)) as { choices: { delta?: { content?: string } }[] }
      text += chunk.choices[0]?.delta?.content ?? ''
    }
  } else if (response.ok) {
    text = (JSON.parse(body) as { choices: { message: { content: string } }[] }).choices[0]?.message
      .content as string
  }
  return { status: response.status, cache: response.headers.get('x-cache'), text, response }
}

const upstreamCallsFor = (question: string) =>
  emulator.requests.filter((r) => JSON.stringify(r.body).includes(question)).length

describe.each([
  { store: 'Workers KV', first: 'a', second: 'b' },
  { store: 'the Cache API', first: 'c', second: 'd' },
])('two Workers sharing $store and a Durable Object', ({ store, first, second }) => {
  it.each([
    { mode: 'streamed', stream: true },
    { mode: 'JSON', stream: false },
  ])(
    'the same question to one Worker, then the other: 1 upstream call, the second an X-Cache HIT ($mode)',
    async ({ stream }) => {
      const question = `What is shared (${store}, stream ${stream})?`
      const one = await ask(first, question, { stream })
      expect(one).toMatchObject({ status: 200, cache: 'MISS' })
      expect(one.text).toBe(`Answer to ${JSON.stringify({ role: 'user', content: question })}`)
      const two = await ask(second, question, { stream })
      expect(two).toMatchObject({ status: 200, cache: 'HIT', text: one.text })
      expect(upstreamCallsFor(question)).toBe(1)
    },
  )
})

describe('a cache store without waitUntil on workerd', () => {
  // The answer ends (its JSON body, a stream's last event) only after its cache write has landed,
  // so even a store without `waitUntil` keeps the fill of an answer whose client read it to the end.
  it.each([
    { mode: 'streamed', stream: true },
    { mode: 'JSON', stream: false },
  ])(
    'keeps its cache fill: the same question twice to one Worker is 1 upstream call ($mode)',
    async ({ stream }) => {
      const question = `Does the write survive without waitUntil (stream ${stream})?`
      expect((await ask('e', question, { stream })).cache).toBe('MISS')
      expect((await ask('e', question, { stream })).cache).toBe('HIT')
      expect(upstreamCallsFor(question)).toBe(1)
    },
  )
})

describe('two Workers sharing a rate limit through the Durable Object', () => {
  it(`a limit of ${RATE_LIMIT} holds across both: ${RATE_LIMIT + 3} concurrent requests, alternating, get exactly 3 429s`, async () => {
    const client = nextClient()
    const answers = await Promise.all(
      Array.from({ length: RATE_LIMIT + 3 }, (_, i) =>
        ask(i % 2 === 0 ? 'a' : 'b', `rate limit question ${i}`, { stream: false, client }),
      ),
    )
    const statuses = answers.map((a) => a.status)
    expect(statuses.filter((s) => s === 200)).toHaveLength(RATE_LIMIT)
    expect(statuses.filter((s) => s === 429)).toHaveLength(3)
    const refused = answers.find((a) => a.status === 429)
    expect(Number(refused?.response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    // Each Worker saw only 4 requests: with a bucket per Worker, none would have been refused.
  })

  it('another client has its own bucket in its own object', async () => {
    const one = nextClient()
    for (let i = 0; i < RATE_LIMIT; i++)
      await ask(i % 2 ? 'a' : 'b', `q${i}`, { stream: false, client: one })
    expect((await ask('a', 'one more', { stream: false, client: one })).status).toBe(429)
    expect((await ask('b', 'one more', { stream: false, client: nextClient() })).status).toBe(200)
  })
})

/** A streaming question to a slow route (`/api/slow`, `/api/resumable`) of one Worker. */
function askSlow(worker: string, path: string, question: string, signal?: AbortSignal) {
  return fetch(`${workers.origins[worker]}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: question }], stream: true }),
    ...(signal ? { signal } : {}),
  })
}

const slowCallsFor = (question: string) =>
  slowEmulator.requests.filter((r) => JSON.stringify(r.body).includes(question))

describe('two Workers sharing streams in flight through the Durable Object stream store', () => {
  it('make 20 identical concurrent streams spread over both Workers one upstream call, 20 identical texts', async () => {
    const question = 'Asked 20 times at once, on two Workers'
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const response = await askSlow(i % 2 ? 'b' : 'a', '/api/slow', question)
        return {
          status: response.status,
          worker: response.headers.get('x-worker'),
          body: await response.text(),
        }
      }),
    )
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200))
    expect(new Set(results.map((r) => r.worker))).toEqual(new Set(['a', 'b']))
    expect(results.map((r) => contentOf(r.body))).toEqual(Array(20).fill(SLOW_TEXT))
    expect(results.every((r) => r.body.endsWith('data: [DONE]\n\n'))).toBe(true)
    expect(slowCallsFor(question)).toHaveLength(1)
  })

  it('resume a cut stream on the other Worker: the same bytes, nothing lost or repeated', async () => {
    const question = 'Resumed on the other Worker'
    const controller = new AbortController()
    const first = await askSlow('a', '/api/resumable', question, controller.signal)
    const streamId = first.headers.get('x-copilotedge-stream-id') as string
    const { received, lastEventId } = await readThenCut(first, controller, 5)
    const resumed = await fetch(`${workers.origins.b}/api/resumable?stream=${streamId}`, {
      headers: { 'Last-Event-ID': String(lastEventId) },
    })
    expect([resumed.status, resumed.headers.get('x-worker')]).toEqual([200, 'b'])
    const rest = await resumed.text()
    expect(contentOf(received) + contentOf(rest)).toBe(SLOW_TEXT)
    expect(rest.endsWith('data: [DONE]\n\n')).toBe(true)
    expect(rest.startsWith(`id: ${lastEventId + 1}\n`)).toBe(true)
    // Byte-exact: the same resume on the Worker that ran it (from its memory) sends the same bytes.
    const here = await fetch(`${workers.origins.a}/api/resumable?stream=${streamId}`, {
      headers: { 'Last-Event-ID': String(lastEventId) },
    })
    expect(here.headers.get('x-worker')).toBe('a')
    expect(await here.text()).toBe(rest)
    expect(slowCallsFor(question)).toHaveLength(1)
  })

  it('stop a stream from the other Worker: the upstream is aborted and the reader ends stream_stopped', async () => {
    const question = 'Stopped from the other Worker'
    const first = await askSlow('a', '/api/resumable', question)
    const streamId = first.headers.get('x-copilotedge-stream-id') as string
    const body = first.text()
    await vi.waitFor(() => expect(slowCallsFor(question)).toHaveLength(1))
    const stop = await fetch(`${workers.origins.b}/api/resumable?stream=${streamId}`, {
      method: 'DELETE',
    })
    expect(stop.status).toBe(204)
    const text = await body
    expect(text).toContain('"code":"stream_stopped"')
    expect(text).not.toContain('[DONE]')
    expect(contentOf(text).length).toBeLessThan(SLOW_TEXT.length)
    await vi.waitFor(() => expect(slowCallsFor(question)[0]?.aborted).toBe(true))
  })
})
