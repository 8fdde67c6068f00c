// Reads Responses API bytes with the real clients: the openai package (its SSE Stream and
// ResponseStream accumulator) and the AI SDK's Responses model (its chunk schema and parser),
// each given a fetch that answers with the bytes under test.
import { createOpenAI } from '@ai-sdk/openai'
import { jsonSchema, streamText, tool } from 'ai'
import OpenAI from 'openai'

export const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8' }

/** An openai client whose every request is answered with `body` (status 200, SSE). */
export function openaiOver(body: string): OpenAI {
  return new OpenAI({
    apiKey: 'x',
    baseURL: 'http://responses.test/v1',
    maxRetries: 0,
    fetch: async () => new Response(body, { headers: SSE_HEADERS }),
  })
}

export const WEATHER_TOOL_SCHEMA = {
  type: 'object',
  properties: { city: { type: 'string' } },
  required: ['city'],
} as const

/** The AI SDK tool set the tests declare (no execute: the caller runs it, as in a UI). */
export function weatherTools() {
  return {
    get_weather: tool({
      description: 'The weather in a city',
      inputSchema: jsonSchema<{ city: string }>(WEATHER_TOOL_SCHEMA as never),
    }),
  }
}

export interface AiSdkRun {
  parts: Array<{ type: string; [key: string]: unknown }>
  text: string
  reasoning: string
  errors: unknown[]
}

/** streamText over a Responses model, collecting every part of its full stream. */
export async function aiSdkRun(options: {
  baseURL: string
  model: string
  prompt: string
  fetch?: typeof fetch
  withTools?: boolean
}): Promise<AiSdkRun> {
  const provider = createOpenAI({
    apiKey: 'x',
    baseURL: options.baseURL,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  })
  const result = streamText({
    model: provider.responses(options.model),
    prompt: options.prompt,
    maxRetries: 0,
    ...(options.withTools ? { tools: weatherTools() } : {}),
    onError: () => {},
  })
  const run: AiSdkRun = { parts: [], text: '', reasoning: '', errors: [] }
  for await (const part of result.fullStream) {
    run.parts.push(part as AiSdkRun['parts'][number])
    if (part.type === 'text-delta') run.text += part.text
    if (part.type === 'reasoning-delta') run.reasoning += part.text
    if (part.type === 'error') run.errors.push(part.error)
  }
  return run
}

/** The AI SDK reading `body` as the answer of a Responses call. */
export function aiSdkOver(body: string, withTools = true): Promise<AiSdkRun> {
  return aiSdkRun({
    baseURL: 'http://responses.test/v1',
    model: 'm',
    prompt: 'Weather in Paris?',
    withTools,
    fetch: async () => new Response(body, { headers: SSE_HEADERS }),
  })
}
