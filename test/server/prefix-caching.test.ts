// Prefix caching end to end: the handler (every protocol) → the Workers AI provider (REST, or the
// binding) → the emulator, which reuses a conversation's prompt prefix per x-session-affinity the
// way Workers AI does. What the upstream saw (the header) and what each protocol's usage says.
import { describe, expect, it } from 'vitest'
import { CopilotEdge, createOpenAICompatibleProvider } from '../../src/server'
import { sessionAffinity } from '../../src/server/engine/session-affinity'
import { createWorkersAIBindingProvider } from '../../src/server/providers/workers-ai-binding'
import { createWorkersAIEmulator } from '../../src/testing'
import { EMULATOR_REPLY, emulatorHandlers, LLAMA } from '../helpers/emulator-handler'
import { serveHandler } from '../helpers/serve-handler'

// Blocks of 4 words (the emulator's token unit) keep the figures readable.
const PREFIX = { prefixCache: { blockTokens: 4 } }
const SYSTEM = 'You answer in one short sentence.' // 6 words
const Q1 = 'What is the capital of France?' // 6 words
const Q2 = 'And of Spain?' // 3 words

/** Turn 1 (12 words) or turn 2 (turn 1 + the emulator's 4-word answer + Q2: 19 words). */
function chatTurn(n: 1 | 2, first = Q1) {
  const messages = [
    { role: 'system', content: SYSTEM },
    { role: 'user', content: first },
  ]
  if (n === 2)
    messages.push({ role: 'assistant', content: EMULATOR_REPLY }, { role: 'user', content: Q2 })
  return messages
}

/** What turn 2 reuses: turn 1's 12 words, three whole 4-word blocks. */
const TURN_2_CACHED = 12

/** The header for a conversation that opens with these messages (no id given). */
const opening = (...messages: Array<{ role: 'system' | 'user'; content: string }>) =>
  sessionAffinity({ messages })
/** The header for a conversation the client names. */
const named = (conversation: string) => sessionAffinity({ conversation, messages: [] })

function post(origin: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

/** The JSON `data:` payloads of an SSE body, `[DONE]` left out. */
function events(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n\n')
    .map((frame) => frame.split('\n').find((line) => line.startsWith('data: ')))
    .filter((line): line is string => line !== undefined && line !== 'data: [DONE]')
    .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>)
}

const stack = emulatorHandlers({ cache: false })

describe('x-session-affinity upstream', () => {
  it('sends the hash of the conversation opening, the same on every turn and another for another conversation', async () => {
    const { emulator, origin } = await stack(PREFIX)
    for (const body of [
      { messages: chatTurn(1) },
      { messages: chatTurn(2) },
      { messages: chatTurn(1, 'Who wrote Hamlet?') },
    ]) {
      expect((await post(origin, '/v1/chat/completions', body)).status).toBe(200)
    }
    // The hash of the opening alone (system + first question), whatever followed it.
    const first = opening({ role: 'system', content: SYSTEM }, { role: 'user', content: Q1 })
    const other = opening(
      { role: 'system', content: SYSTEM },
      { role: 'user', content: 'Who wrote Hamlet?' },
    )
    expect(other).not.toBe(first)
    expect(emulator.requests.map((r) => r.headers['x-session-affinity'])).toEqual([
      first,
      first,
      other,
    ])
    // Nothing of the prompt in any header.
    for (const r of emulator.requests) expect(JSON.stringify(r.headers)).not.toContain('France')
    // Another conversation lands elsewhere: even the shared system prompt is prefilled anew.
    expect(emulator.requests.map((r) => r.cachedTokens)).toEqual([0, TURN_2_CACHED, 0])
  })

  it('sends the hash of prompt_cache_key when the client gives one, whatever the opening', async () => {
    const { emulator, origin } = await stack(PREFIX)
    await post(origin, '/v1/chat/completions', { messages: chatTurn(1), prompt_cache_key: 'k-1' })
    await post(origin, '/v1/chat/completions', {
      messages: chatTurn(1, 'Who wrote Hamlet?'),
      prompt_cache_key: 'k-1',
    })
    const value = named('key:k-1')
    expect(emulator.requests.map((r) => r.headers['x-session-affinity'])).toEqual([value, value])
  })

  it('answers 400 to a prompt_cache_key that is not a string', async () => {
    const { emulator, origin } = await stack(PREFIX)
    const response = await post(origin, '/v1/chat/completions', {
      messages: chatTurn(1),
      prompt_cache_key: 7,
    })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { error: { param: string } }).error.param).toBe(
      'prompt_cache_key',
    )
    expect(emulator.requests).toHaveLength(0)
  })

  it('sends no header with sessionAffinity: false, and nothing is served from the prefix cache', async () => {
    const { emulator, origin } = await stack(PREFIX, { sessionAffinity: false })
    await post(origin, '/v1/chat/completions', { messages: chatTurn(1) })
    const second = await post(origin, '/v1/chat/completions', { messages: chatTurn(2) })
    expect(((await second.json()) as { usage: unknown }).usage).toEqual({
      prompt_tokens: 19,
      completion_tokens: 4,
      total_tokens: 23,
    })
    expect(emulator.requests.map((r) => 'x-session-affinity' in r.headers)).toEqual([false, false])
  })

  it('is not sent by the OpenAI-compatible provider (no such routing there)', async () => {
    const emulator = createWorkersAIEmulator(PREFIX)
    const edge = new CopilotEdge({
      cache: false,
      provider: createOpenAICompatibleProvider({
        baseURL: `${emulator.baseURL}/accounts/${emulator.accountId}/ai/v1`,
        apiKey: emulator.apiToken,
        fetch: emulator.fetchImpl,
      }),
    })
    await edge.handleRequest({ messages: chatTurn(1) })
    expect(emulator.requests[0]?.route).toBe('chat-completions')
    expect(emulator.requests[0]?.headers).not.toHaveProperty('x-session-affinity')
  })

  it('goes through the binding as extraHeaders, and the cached tokens come back in usage', async () => {
    const emulator = createWorkersAIEmulator({ ...PREFIX, reply: EMULATOR_REPLY })
    const edge = new CopilotEdge({
      cache: false,
      provider: createWorkersAIBindingProvider(emulator.binding),
    })
    await edge.handleRequest({ messages: chatTurn(1) })
    const second = await edge.handleRequest({ messages: chatTurn(2) })
    expect('usage' in second && second.usage).toEqual({
      prompt_tokens: 19,
      completion_tokens: 4,
      total_tokens: 23,
      prompt_tokens_details: { cached_tokens: TURN_2_CACHED },
    })
    const first = opening({ role: 'system', content: SYSTEM }, { role: 'user', content: Q1 })
    expect(emulator.requests.map((r) => r.headers['x-session-affinity'])).toEqual([first, first])
  })
})

describe('cached prompt tokens in each protocol’s usage', () => {
  it('Chat Completions: usage.prompt_tokens_details.cached_tokens, in the JSON answer and the include_usage chunk', async () => {
    const { origin } = await stack(PREFIX)
    await post(origin, '/v1/chat/completions', { messages: chatTurn(1) })
    const json = await post(origin, '/v1/chat/completions', { messages: chatTurn(2) })
    expect(((await json.json()) as { usage: unknown }).usage).toEqual({
      prompt_tokens: 19,
      completion_tokens: 4,
      total_tokens: 23,
      prompt_tokens_details: { cached_tokens: TURN_2_CACHED },
    })
    const streamed = await post(origin, '/v1/chat/completions', {
      messages: chatTurn(2),
      stream: true,
      stream_options: { include_usage: true },
    })
    const text = await streamed.text()
    // Turn 2 seen whole now: every block but the one holding its last word.
    expect(text).toContain(
      '"choices":[],"usage":{"prompt_tokens":19,"completion_tokens":4,"total_tokens":23,"prompt_tokens_details":{"cached_tokens":16}}}\n\n',
    )
  })

  it('Responses: usage.input_tokens_details.cached_tokens, in response.completed and the JSON form', async () => {
    const { emulator, origin } = await stack(PREFIX)
    const input = (n: 1 | 2) => chatTurn(n).filter((m) => m.role !== 'system')
    const ask = (n: 1 | 2, stream: boolean) =>
      post(origin, '/v1/responses', {
        model: LLAMA,
        instructions: SYSTEM,
        input: input(n),
        stream,
        prompt_cache_key: 'conv-7',
      })
    await ask(1, false)
    const json = (await (await ask(2, false)).json()) as { usage: Record<string, unknown> }
    expect(json.usage).toEqual({
      input_tokens: 19,
      input_tokens_details: { cached_tokens: TURN_2_CACHED },
      output_tokens: 4,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 23,
    })
    const completed = events(await (await ask(2, true)).text()).find(
      (e) => e.type === 'response.completed',
    ) as { response: { usage: { input_tokens_details: unknown } } }
    expect(completed.response.usage.input_tokens_details).toEqual({ cached_tokens: 16 })
    expect(new Set(emulator.requests.map((r) => r.headers['x-session-affinity']))).toEqual(
      new Set([named('key:conv-7')]),
    )
  })

  it('AG-UI: RUN_FINISHED usage[0].cachedInputTokens, the thread as the conversation', async () => {
    const { emulator, origin } = await stack(PREFIX)
    const run = (n: 1 | 2, runId: string) =>
      post(origin, '/api/agent', {
        threadId: 'thread-9',
        runId,
        messages: chatTurn(n).map((m, i) => ({ id: `m${i}`, ...m })),
      })
    await (await run(1, 'r1')).text()
    const finished = events(await (await run(2, 'r2')).text()).find(
      (e) => e.type === 'RUN_FINISHED',
    )
    expect(finished?.usage).toEqual([
      {
        model: LLAMA,
        inputTokens: 19,
        outputTokens: 4,
        totalTokens: 23,
        cachedInputTokens: TURN_2_CACHED,
      },
    ])
    const value = named('ag-ui:thread-9')
    expect(emulator.requests.map((r) => r.headers['x-session-affinity'])).toEqual([value, value])
  })

  it('UI message stream: finish.messageMetadata.usage.inputTokenDetails, the chat id as the conversation', async () => {
    const { emulator, origin } = await stack(PREFIX)
    const uiMessages = (n: 1 | 2) =>
      chatTurn(n).map((m, i) => ({
        id: `m${i}`,
        role: m.role,
        parts: [{ type: 'text', text: m.content }],
      }))
    const send = (n: 1 | 2) =>
      post(origin, '/api/chat', {
        id: 'chat-3',
        messages: uiMessages(n),
        trigger: 'submit-message',
      })
    await (await send(1)).text()
    const finish = events(await (await send(2)).text()).find((e) => e.type === 'finish') as {
      messageMetadata: { usage: unknown }
    }
    expect(finish.messageMetadata.usage).toEqual({
      inputTokens: 19,
      inputTokenDetails: { noCacheTokens: 19 - TURN_2_CACHED, cacheReadTokens: TURN_2_CACHED },
      outputTokens: 4,
      totalTokens: 23,
    })
    const value = named('ui:chat-3')
    expect(emulator.requests.map((r) => r.headers['x-session-affinity'])).toEqual([value, value])
  })
})

describe('getMetrics()', () => {
  it('counts the prompt tokens and those served from the prefix cache', async () => {
    const emulator = createWorkersAIEmulator({ ...PREFIX, reply: EMULATOR_REPLY })
    const upstream = await emulator.listen()
    const edge = new CopilotEdge({
      apiKey: emulator.apiToken,
      accountId: emulator.accountId,
      baseURL: upstream.baseURL,
    })
    const served = await serveHandler(edge.createNextHandler())
    try {
      expect(edge.getMetrics()).toMatchObject({
        promptTokens: 0,
        cachedPromptTokens: 0,
        cachedPromptShare: 0,
      })
      await post(served.origin, '/api/copilot', { messages: chatTurn(1) })
      const streamed = await post(served.origin, '/api/copilot', {
        messages: chatTurn(2),
        stream: true,
      })
      await streamed.text()
      // A cache replay makes no upstream call: it adds nothing.
      expect(
        (await post(served.origin, '/api/copilot', { messages: chatTurn(1) })).headers.get(
          'x-cache',
        ),
      ).toBe('HIT')
      expect(edge.getMetrics()).toMatchObject({
        promptTokens: 12 + 19,
        cachedPromptTokens: TURN_2_CACHED,
        cachedPromptShare: TURN_2_CACHED / 31,
      })
    } finally {
      await Promise.all([served.close(), upstream.close()])
    }
  })
})
