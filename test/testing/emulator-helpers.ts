// Shared helpers for the emulator tests: build requests against a base URL with any fetch.
import type { WorkersAIEmulator } from '../../src/testing'

export const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}

export const LLAMA = '@cf/meta/llama-3.1-8b-instruct'
export const GPT_OSS = '@cf/openai/gpt-oss-20b'

export interface Target {
  fetch: typeof fetch
  baseURL: string
}

export function inProcess(emu: WorkersAIEmulator): Target {
  return { fetch: emu.fetchImpl, baseURL: emu.baseURL }
}

export const runPath = (model: string, account = 'emulator-account') =>
  `/accounts/${account}/ai/run/${model}`
export const chatPath = (account = 'emulator-account') =>
  `/accounts/${account}/ai/v1/chat/completions`

export interface PostOptions {
  token?: string | null
  signal?: AbortSignal
  method?: string
  rawBody?: string
  /** Extra request headers (e.g. `x-session-affinity`). */
  headers?: Record<string, string>
}

export function post(
  target: Target,
  path: string,
  body: unknown,
  options: PostOptions = {},
): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers }
  const token = options.token === undefined ? 'emulator-token' : options.token
  if (token !== null) headers.authorization = `Bearer ${token}`
  const method = options.method ?? 'POST'
  return target.fetch(`${target.baseURL}${path}`, {
    method,
    headers,
    body: method === 'GET' ? undefined : (options.rawBody ?? JSON.stringify(body)),
    signal: options.signal,
  })
}

export const userSays = (content: string) => [{ role: 'user', content }]

/** The `data:` payloads of an SSE body, in order (the emulator writes `data: …\n\n` frames only). */
export function dataOf(text: string): string[] {
  return text
    .split('\n\n')
    .filter((frame) => frame !== '')
    .map((frame) => {
      if (!frame.startsWith('data: ')) throw new Error(`not a data frame: ${frame}`)
      return frame.slice('data: '.length)
    })
}

/** Reads a body to the end, or to the error it fails with. */
export async function readAll(
  response: Response,
): Promise<{ text: string; error: unknown | null }> {
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return { text: text + decoder.decode(), error: null }
      text += decoder.decode(value, { stream: true })
    }
  } catch (error) {
    return { text, error }
  }
}

/** Polls until `check` passes (for what the server learns asynchronously, e.g. a disconnect). */
export async function eventually(check: () => void, timeoutMs = 5000): Promise<void> {
  const start = Date.now()
  for (;;) {
    try {
      check()
      return
    } catch (error) {
      if (Date.now() - start > timeoutMs) throw error
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

/** A clock whose timers fire only when the test says so. */
export class ManualClock {
  private timers = new Map<number, { callback: () => void; ms: number }>()
  private nextHandle = 1
  setTimeout = (callback: () => void, ms: number): unknown => {
    const handle = this.nextHandle++
    this.timers.set(handle, { callback, ms })
    return handle
  }
  clearTimeout = (handle: never): void => {
    this.timers.delete(handle as unknown as number)
  }
  now = (): number => 1_700_000_000_000
  /** Delays of the timers waiting now. */
  get pending(): number[] {
    return [...this.timers.values()].map((t) => t.ms)
  }
  /** Fires every waiting timer once. */
  fire(): void {
    const due = [...this.timers.values()]
    this.timers.clear()
    for (const t of due) t.callback()
  }
}

/** Whether a promise has settled, without waiting for it. */
export async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false
  promise.then(
    () => {
      settled = true
    },
    () => {
      settled = true
    },
  )
  await new Promise((resolve) => setTimeout(resolve, 20))
  return settled
}

export interface Transport {
  target: Target
  close(): Promise<void>
}

/** The same emulator, reached in-process through fetchImpl or over loopback HTTP with real fetch. */
export const TRANSPORTS: Array<[string, (emu: WorkersAIEmulator) => Promise<Transport>]> = [
  ['in-process', async (emu) => ({ target: inProcess(emu), close: async () => {} })],
  [
    'over loopback',
    async (emu) => {
      const server = await emu.listen()
      return { target: { fetch: globalThis.fetch, baseURL: server.baseURL }, close: server.close }
    },
  ],
]
