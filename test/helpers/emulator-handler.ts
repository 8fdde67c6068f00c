import OpenAI from 'openai'
import { afterEach } from 'vitest'
import type { CopilotEdgeConfig } from '../../src/server'
import { createCopilotEdgeHandler } from '../../src/server'
import type { WorkersAIEmulator, WorkersAIEmulatorOptions } from '../../src/testing'
import { createWorkersAIEmulator } from '../../src/testing'
import { serveHandler } from './serve-handler'

export const LLAMA = '@cf/meta/llama-3.1-8b-instruct'
export const GPT_OSS = '@cf/openai/gpt-oss-20b'
/** What the emulator answers unless a test gives it another `reply`. */
export const EMULATOR_REPLY = 'Hello from the emulator'

export interface EmulatorHandler {
  /** The Workers AI emulator the handler calls (its `requests` say what the upstream saw). */
  emulator: WorkersAIEmulator
  /** `http://127.0.0.1:<port>` of the served handler. */
  origin: string
  /** Closes the handler's server and the emulator's. */
  close(): Promise<void>
}

/**
 * The full stack over real loopback HTTP: a Workers AI emulator listening on 127.0.0.1, and
 * `createCopilotEdgeHandler` pointed at it (its key, account and base URL, then `config`) served
 * with serveHandler. The caller must `close()` it; `emulatorHandlers()` does that in afterEach.
 */
export async function serveWithEmulator(
  emulatorOptions: WorkersAIEmulatorOptions = {},
  config: CopilotEdgeConfig = {},
): Promise<EmulatorHandler> {
  const emulator = createWorkersAIEmulator({ reply: EMULATOR_REPLY, ...emulatorOptions })
  const upstream = await emulator.listen()
  try {
    const served = await serveHandler(
      createCopilotEdgeHandler({
        apiKey: emulator.apiToken,
        accountId: emulator.accountId,
        baseURL: upstream.baseURL,
        ...config,
      }),
    )
    return {
      emulator,
      origin: served.origin,
      close: async () => {
        await Promise.all([served.close(), upstream.close()])
      },
    }
  } catch (error) {
    await upstream.close()
    throw error
  }
}

/**
 * For a test file's top level: registers an afterEach that closes every stack started since, and
 * returns `serveWithEmulator` with the file's own config defaults under each call's `config`.
 */
export function emulatorHandlers(defaults: CopilotEdgeConfig = {}) {
  const open: EmulatorHandler[] = []
  afterEach(async () => {
    await Promise.all(open.splice(0).map((stack) => stack.close()))
  })
  return async (
    emulatorOptions: WorkersAIEmulatorOptions = {},
    config: CopilotEdgeConfig = {},
  ): Promise<EmulatorHandler> => {
    const stack = await serveWithEmulator(emulatorOptions, { ...defaults, ...config })
    open.push(stack)
    return stack
  }
}

/** The openai client for a served handler: any key (the handler holds the real one), no retries. */
export function openaiClient(origin: string): OpenAI {
  return new OpenAI({ apiKey: 'x', baseURL: origin, maxRetries: 0 })
}

/** Asks "Hi" over streamed Chat Completions; the text the client put together. */
export async function streamText(client: OpenAI, model = LLAMA): Promise<string> {
  const stream = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: 'Hi' }],
    stream: true,
  })
  let text = ''
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
  return text
}
