import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EmulatorServer, WorkersAIEmulator } from '../../src/testing'
import { createWorkersAIEmulator } from '../../src/testing'
import {
  type StartedWorkers,
  startStoreWorkers,
} from '../server/stores/cloudflare/miniflare-workers'

// Identical concurrent streams coalesced in the isolate (no stream store) on workerd, through
// Miniflare: on workerd every request is its own context, so each follower is woken from the
// leader's request (cross-request promise resolution) and resumes a turn later than on Node.

const TOKENS = 2_000
const STREAMS = 20
const TEXT = Array.from({ length: TOKENS }, (_, i) => `tok${i} `).join('')

const paced = createWorkersAIEmulator({ tokens: TOKENS, tokenDelayMs: 1 })
const burst = createWorkersAIEmulator({ tokens: TOKENS, tokenDelayMs: 0 })
const upstreams: EmulatorServer[] = []
let workers: StartedWorkers

beforeAll(async () => {
  const worker = async (name: string, emulator: WorkersAIEmulator) => {
    const upstream = await emulator.listen({ port: 0 })
    upstreams.push(upstream)
    const vars = {
      CLOUDFLARE_API_TOKEN: emulator.apiToken,
      CLOUDFLARE_ACCOUNT_ID: emulator.accountId,
      WORKERS_AI_BASE_URL: upstream.baseURL,
      SLOW_BASE_URL: upstream.baseURL,
      // `/api/slow` coalesces in the isolate only: no stream store.
      LOCAL_STREAMS: '1',
    }
    return { name, vars }
  }
  workers = await startStoreWorkers([await worker('paced', paced), await worker('burst', burst)])
})
afterAll(async () => {
  await workers?.dispose()
  for (const upstream of upstreams) await upstream.close()
})

/** The content deltas of a Chat Completions SSE body, joined. */
const contentOf = (body: string) =>
  [...body.matchAll(/"content":"([^"]*)"/g)].map((m) => m[1]).join('')

async function askAtOnce(worker: string, question: string) {
  return Promise.all(
    Array.from({ length: STREAMS }, async () => {
      const response = await fetch(`${workers.origins[worker]}/api/slow`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: question }], stream: true }),
      })
      return { status: response.status, body: await response.text() }
    }),
  )
}

describe('identical concurrent streams coalesced in one Worker on workerd', () => {
  it.each([
    ['tokens 1 ms apart', 'paced', paced],
    ['tokens all at once', 'burst', burst],
  ] as const)(
    `${STREAMS} identical streams at once are 1 upstream call and ${STREAMS} complete texts (${TOKENS} %s)`,
    async (_pace, worker, emulator) => {
      const results = await askAtOnce(worker, `Asked ${STREAMS} times at once (${worker})`)
      expect(results.map((r) => r.status)).toEqual(Array(STREAMS).fill(200))
      expect(results.map((r) => contentOf(r.body))).toEqual(Array(STREAMS).fill(TEXT))
      expect(results.every((r) => r.body.endsWith('data: [DONE]\n\n'))).toBe(true)
      expect(emulator.requests).toHaveLength(1)
      expect(emulator.requests[0]?.completed).toBe(true)
    },
  )
})
