// The API key never leaves the server: not in a response body, header, SSE event or log line, with
// debug logging on, across successes, cache hits, bad input and every upstream fault, including
// upstream error messages that quote the Authorization header back at us.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  type CopilotEdgeConfig,
  createCopilotEdgeHandler,
  createOpenAICompatibleProvider,
} from '../../src/server'
import { createWorkersAIEmulator, type EmulatorFault, type EmulatorServer } from '../../src/testing'
import { serveHandler } from '../helpers/serve-handler'
import { rawRequest } from './http'

const KEY = 'cfut_S3CR3T-k3y-7f3a9c2e4b1d8e6f5a0c3b2d1e9f8a7b'
const WRONG_KEY = 'cfut_WR0NG-k3y-0a1b2c3d4e5f60718293a4b5c6d7e8f9'
const ECHO = `Authorization: Bearer ${KEY}`

/** Every 12-character piece of the key: a cut-off key is still a leak. */
function leaks(haystack: string, key: string): string[] {
  const found = new Set<string>()
  for (let i = 0; i + 12 <= key.length; i++) {
    const piece = key.slice(i, i + 12)
    if (haystack.includes(piece)) found.add(piece)
  }
  return [...found]
}

const emulator = createWorkersAIEmulator({ apiToken: KEY, tokens: 4 })
let upstream: EmulatorServer
const servers: { origin: string; close(): Promise<void> }[] = []
const logLines: string[] = []
const consoleLines: string[] = []
const seen: { what: string; text: string }[] = []
let url: string
let consoleUrl: string
let openaiUrl: string

const captureLogger = {
  debug: (...args: unknown[]) => logLines.push(args.map(String).join(' ')),
  warn: (...args: unknown[]) => logLines.push(args.map(String).join(' ')),
  error: (...args: unknown[]) => logLines.push(args.map(String).join(' ')),
}

async function serveWith(config: Partial<CopilotEdgeConfig>): Promise<string> {
  const server = await serveHandler(
    createCopilotEdgeHandler({
      apiKey: KEY,
      accountId: emulator.accountId,
      baseURL: upstream.baseURL,
      debug: true,
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2, maxRetryAfterMs: 10 },
      timeoutMs: 200,
      idleTimeoutMs: 200,
      heartbeatMs: 0,
      ...config,
    }),
  )
  servers.push(server)
  return server.origin
}

beforeAll(async () => {
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      consoleLines.push(
        args
          .map((a) =>
            a instanceof Error
              ? `${a.stack} ${String(a.cause)}`
              : typeof a === 'string'
                ? a
                : (JSON.stringify(a) ?? String(a)),
          )
          .join(' '),
      )
    })
  }
  upstream = await emulator.listen({ port: 0 })
  url = await serveWith({ logger: captureLogger })
  // The default logger is console: the same requests through it, console spied.
  consoleUrl = await serveWith({})
  // The OpenAI-compatible provider (the emulator's /ai/v1 route) holds the key itself: the engine's
  // config has none, so the provider's own redaction is what is tested.
  openaiUrl = await serveWith({
    apiKey: undefined,
    logger: captureLogger,
    provider: createOpenAICompatibleProvider({
      baseURL: `${upstream.baseURL}/accounts/${emulator.accountId}/ai/v1`,
      apiKey: KEY,
    }),
  })
})

afterAll(async () => {
  vi.restoreAllMocks()
  for (const server of servers) await server.close()
  await upstream?.close()
})

/** Sends a request and records everything the client can see: status line, headers, body bytes. */
async function send(target: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await rawRequest(target, {
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = [
    String(res.status),
    ...Object.entries(res.headers).map(([k, v]) => `${k}: ${String(v)}`),
    res.body,
  ].join('\n')
  seen.push({ what: JSON.stringify(body).slice(0, 80), text })
  return res
}

const ask = (prompt: string, stream: boolean) => ({
  stream,
  messages: [{ role: 'user', content: prompt }],
})

const faults: { name: string; fault: EmulatorFault | EmulatorFault[] }[] = [
  {
    name: '500 quoting the Authorization header',
    fault: [0, 1].map(() => ({ type: 'status', status: 500, message: ECHO }) as const),
  },
  {
    name: '400 quoting it (passed through to the caller)',
    fault: { type: 'status', status: 400, code: 5006, message: `Bad input; you sent ${ECHO}` },
  },
  {
    name: '413 quoting it',
    fault: { type: 'status', status: 413, code: 3006, message: `Too large: ${ECHO}` },
  },
  {
    name: '429 quoting it',
    fault: { type: 'status', status: 429, code: 3040, retryAfter: 60, message: ECHO },
  },
  {
    name: '401 quoting it',
    fault: { type: 'status', status: 401, code: 10000, message: `Authentication error: ${ECHO}` },
  },
  { name: '403 quoting it', fault: { type: 'status', status: 403, code: 10000, message: ECHO } },
  { name: '404 quoting it', fault: { type: 'status', status: 404, code: 3042, message: ECHO } },
  { name: '408 quoting it', fault: { type: 'status', status: 408, code: 3007, message: ECHO } },
  {
    name: 'a message cut at 500 characters right through the key',
    fault: { type: 'status', status: 400, code: 5006, message: `${'x'.repeat(480)} ${ECHO}` },
  },
  {
    name: 'an error frame quoting it',
    fault: { type: 'error-frame', afterTokens: 1, message: ECHO },
  },
  { name: 'a reset', fault: [{ type: 'reset' }, { type: 'reset' }] },
  { name: 'a stall', fault: { type: 'stall', ms: 5_000 } },
  { name: 'a stall mid-stream', fault: { type: 'stall-mid-stream', afterTokens: 1, ms: 5_000 } },
  { name: 'a drop', fault: { type: 'drop', afterTokens: 1 } },
  { name: 'a malformed frame', fault: { type: 'malformed', afterTokens: 1 } },
  { name: 'JSON for a stream', fault: { type: 'json-for-stream' } },
]

const badBodies: unknown[] = [
  '{"messages":',
  'null',
  { messages: [] },
  { messages: [{ role: 'wizard', content: KEY.slice(0, 4) }] },
  { messages: [{ role: 'user', content: 'x' }], model: 'gpt-4o' },
  { messages: [{ role: 'user', content: 'x' }], temperature: 'hot' },
  { messages: [{ role: 'tool', content: 'x' }] },
]

describe('the API key never leaves the server', () => {
  it('is really used upstream (so the checks below can fail)', async () => {
    emulator.reset()
    const res = await send(url, ask('hello', false))
    expect(res.status).toBe(200)
    expect(emulator.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`)
  })

  for (const target of [
    'capture logger',
    'console logger',
    'OpenAI-compatible provider',
  ] as const) {
    for (const stream of [false, true]) {
      for (const f of faults) {
        it(`${f.name}, ${stream ? 'streaming' : 'non-streaming'}, through the ${target}`, async () => {
          emulator.reset()
          emulator.fault(f.fault)
          const res = await send(
            target === 'console logger'
              ? consoleUrl
              : target === 'capture logger'
                ? url
                : openaiUrl,
            ask(`${f.name} ${stream} ${target}`, stream),
          )
          expect(res.status).not.toBe(500)
          await emulator.idle()
          expect(emulator.requests.length).toBeGreaterThan(0)
          // The upstream really sent the key back where it applies.
          if (!Array.isArray(f.fault) && f.fault.type === 'status') {
            expect(emulator.requests[0]?.status).toBe(f.fault.status)
          }
        })
      }
    }
  }

  it('successes, cache hits and bad input, streaming and not', async () => {
    emulator.reset()
    for (const stream of [false, true]) {
      for (let i = 0; i < 2; i++) {
        const res = await send(url, ask('cache me', stream))
        expect(res.status).toBe(200)
      }
      for (const body of badBodies) {
        const res = await send(
          url,
          typeof body === 'string' ? body : { ...(body as object), stream },
        )
        expect(res.status).toBeGreaterThanOrEqual(400)
        expect(res.status).toBeLessThan(500)
      }
    }
  })

  it('a misconfigured key (upstream 401) is not echoed either', async () => {
    const target = await serveWith({ apiKey: WRONG_KEY, logger: captureLogger })
    for (const stream of [false, true]) {
      const res = await send(target, ask('wrong key', stream))
      expect(res.status).toBe(502)
    }
    expect(emulator.requests.some((r) => r.headers.authorization === `Bearer ${WRONG_KEY}`)).toBe(
      true,
    )
    for (const { text } of seen) expect(leaks(text, WRONG_KEY)).toEqual([])
    for (const line of [...logLines, ...consoleLines]) expect(leaks(line, WRONG_KEY)).toEqual([])
  })

  it('appears in no response (status, headers, body, SSE event) and no log line', () => {
    expect(seen.length).toBeGreaterThan(70)
    // Debug logging was really on and really captured, through both loggers.
    expect(logLines.length).toBeGreaterThan(20)
    expect(consoleLines.length).toBeGreaterThan(20)
    const leaked = [
      ...seen
        .filter(({ text }) => leaks(text, KEY).length > 0)
        .map(({ what, text }) => `response to ${what}: ${text}`),
      ...logLines.filter((line) => leaks(line, KEY).length > 0).map((l) => `log: ${l}`),
      ...consoleLines.filter((line) => leaks(line, KEY).length > 0).map((l) => `console: ${l}`),
    ]
    expect(leaked, `the key leaked:\n${leaked.join('\n-----\n')}`).toEqual([])
  })
})
