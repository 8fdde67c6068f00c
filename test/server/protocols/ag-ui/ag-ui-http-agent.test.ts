// AG-UI end to end over real loopback HTTP: @ag-ui/client's HttpAgent (its SSE parser, schemas
// and verifier, as CopilotKit uses it) → createCopilotEdgeHandler (served with @hono/node-server)
// → the Workers AI provider → the Workers AI emulator (listening too).
import type { BaseEvent, Message } from '@ag-ui/client'
import { HttpAgent } from '@ag-ui/client'
import { describe, expect, it } from 'vitest'
import type { CopilotEdgeConfig } from '../../../../src/server'
import type { WorkersAIEmulator, WorkersAIEmulatorOptions } from '../../../../src/testing'
import {
  emulatorHandlers,
  GPT_OSS,
  LLAMA,
  openaiClient,
  streamText,
} from '../../../helpers/emulator-handler'

const serve = emulatorHandlers({ models: [LLAMA, GPT_OSS] })

const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'The current weather in a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
  },
}

interface Seen {
  /** Each response's status, headers and raw body text (read beside the agent, via a tee). */
  responses: Array<{ status: number; headers: Headers; body: Promise<string> }>
}

async function stack(emulatorOptions?: WorkersAIEmulatorOptions, config?: CopilotEdgeConfig) {
  const { emulator, origin } = await serve(emulatorOptions, config)
  const seen: Seen = { responses: [] }
  const url = `${origin}/api/agent`
  const agent = (threadId = 'thread-1') =>
    new HttpAgent({
      url,
      threadId,
      fetch: async (input, init) => {
        const response = await fetch(input, init)
        if (!response.body) return response
        const [mine, theirs] = response.body.tee()
        seen.responses.push({
          status: response.status,
          headers: response.headers,
          body: new Response(mine).text().catch(() => ''),
        })
        return new Response(theirs, { status: response.status, headers: response.headers })
      },
    })
  return { emulator, agent, seen, origin }
}

/** One run with the default (verifying) pipeline; collects every event the subscribers saw. */
async function run(
  agent: HttpAgent,
  parameters: Parameters<HttpAgent['runAgent']>[0] = {},
  onEvent?: (event: BaseEvent) => void,
) {
  const events: BaseEvent[] = []
  const result = await agent.runAgent(parameters, {
    onEvent: ({ event }) => {
      events.push(event)
      onEvent?.(event)
    },
  })
  return { events, newMessages: result.newMessages as Message[] }
}

function lastRequest(emulator: WorkersAIEmulator) {
  return emulator.requests[emulator.requests.length - 1]!
}

function user(content: string, id = 'u1'): Message {
  return { id, role: 'user', content }
}

describe('AG-UI over loopback: HttpAgent → copilotedge → Workers AI emulator', () => {
  it('streams the answer as one assistant message and reports usage in RUN_FINISHED', async () => {
    const { agent, emulator, seen } = await stack()
    const a = agent()
    a.addMessage(user('Hi'))
    const { events, newMessages } = await run(a, { runId: 'run-1' })
    expect(newMessages).toEqual([
      {
        id: expect.stringMatching(/^chatcmpl-/),
        role: 'assistant',
        content: 'Hello from the emulator',
      },
    ])
    expect(events[0]).toEqual({ type: 'RUN_STARTED', threadId: 'thread-1', runId: 'run-1' })
    expect(events.at(-1)).toMatchObject({
      type: 'RUN_FINISHED',
      threadId: 'thread-1',
      runId: 'run-1',
      usage: [{ model: LLAMA, inputTokens: expect.any(Number), outputTokens: expect.any(Number) }],
    })
    expect(seen.responses[0]!.status).toBe(200)
    expect(seen.responses[0]!.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    const body = await seen.responses[0]!.body
    expect(
      body.startsWith('data: {"type":"RUN_STARTED","threadId":"thread-1","runId":"run-1"}\n\n'),
    ).toBe(true)
    expect(body).not.toContain('\r')
    await emulator.idle()
    expect(emulator.requests).toHaveLength(1)
    expect(lastRequest(emulator)).toMatchObject({
      model: LLAMA,
      stream: true,
      completed: true,
      aborted: false,
    })
  })

  it('round-trips a frontend tool: run 1 streams TOOL_CALL_*, run 2 sends the result as tool_call_id', async () => {
    const { agent, emulator } = await stack({ streamShape: 'openai' })
    const a = agent()
    a.addMessage(user("What's the weather in London?"))
    const first = await run(a, { tools: [WEATHER_TOOL] })
    const types: string[] = first.events.map((e) => e.type)
    const calls = types.filter((t) => t.startsWith('TOOL_CALL_'))
    expect(calls[0]).toBe('TOOL_CALL_START')
    expect(calls.slice(1, -1).every((t) => t === 'TOOL_CALL_ARGS')).toBe(true)
    expect(types.slice(-2)).toEqual(['TOOL_CALL_END', 'RUN_FINISHED'])
    const assistant = first.newMessages.find((m) => m.role === 'assistant') as Extract<
      Message,
      { role: 'assistant' }
    >
    expect(assistant.toolCalls).toEqual([
      {
        id: expect.any(String),
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"London"}' },
      },
    ])
    const callId = assistant.toolCalls![0]!.id

    // The app runs the tool and starts the next run with its result.
    a.addMessage({ id: 'tool-1', role: 'tool', toolCallId: callId, content: '{"temp":12}' })
    const second = await run(a, { tools: [WEATHER_TOOL] })
    expect(second.newMessages).toEqual([
      { id: expect.any(String), role: 'assistant', content: 'Hello from the emulator' },
    ])
    await emulator.idle()
    expect(emulator.requests).toHaveLength(2)
    const sent = (lastRequest(emulator).body as { messages: unknown[] }).messages
    expect(sent).toEqual([
      { role: 'user', content: "What's the weather in London?" },
      expect.objectContaining({
        role: 'assistant',
        tool_calls: [
          {
            id: callId,
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"London"}' },
          },
        ],
      }),
      expect.objectContaining({ role: 'tool', tool_call_id: callId, content: '{"temp":12}' }),
    ])
  })

  it('streams reasoning as REASONING_* events before the text (model from forwardedProps.model)', async () => {
    const { agent, emulator } = await stack({ reasoning: 'Greeting detected.' })
    const a = agent()
    a.addMessage(user('Hi'))
    const { events, newMessages } = await run(a, { forwardedProps: { model: GPT_OSS } })
    expect(events.map((e) => e.type).slice(0, 3)).toEqual([
      'RUN_STARTED',
      'REASONING_START',
      'REASONING_MESSAGE_START',
    ])
    expect(newMessages.map((m) => [m.role, m.content])).toEqual([
      ['reasoning', 'Greeting detected.'],
      ['assistant', 'Hello from the emulator'],
    ])
    expect(lastRequest(emulator).model).toBe(GPT_OSS)
  })

  it('abortRun() aborts the upstream request', async () => {
    const { agent, emulator } = await stack({ tokens: 10_000, tokenDelayMs: 5 })
    const a = agent()
    a.addMessage(user('Count'))
    let aborted = false
    await run(a, {}, (event) => {
      if (event.type === 'TEXT_MESSAGE_CONTENT' && !aborted) {
        aborted = true
        a.abortRun()
      }
    })
    expect(aborted).toBe(true)
    await emulator.idle()
    expect(lastRequest(emulator).aborted).toBe(true)
    expect(lastRequest(emulator).tokensSent).toBeLessThan(10_000)
  })

  it('rejects the run with HTTP 429 and the error body when the upstream is over capacity', async () => {
    const { agent, emulator } = await stack({}, { retry: false })
    emulator.fault({
      type: 'status',
      status: 429,
      code: 3040,
      message: 'Capacity temporarily exceeded',
    })
    const a = agent()
    a.addMessage(user('Hi'))
    const error = (await run(a).catch((e: unknown) => e)) as Error & { status?: number }
    expect(error).toBeInstanceOf(Error)
    expect(error.status).toBe(429)
    expect(error.message).toMatch(
      /^HTTP 429: \{"error":\{"message":".*Capacity temporarily exceeded/,
    )
  })

  it('rejects the run with HTTP 502 when the upstream fails with a 5xx every time', async () => {
    const { agent, emulator } = await stack(
      {},
      { retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } },
    )
    emulator.fault([
      { type: 'status', status: 503 },
      { type: 'status', status: 503 },
    ])
    const a = agent()
    a.addMessage(user('Hi'))
    const error = (await run(a).catch((e: unknown) => e)) as Error & { status?: number }
    expect(error.status).toBe(502)
    expect(error.message).toMatch(
      /^HTTP 502: \{"error":\{"message":"The upstream failed \(HTTP 503\)/,
    )
    expect(emulator.requests).toHaveLength(2)
  })

  it('ends a run whose upstream drops mid-stream with RUN_ERROR, never RUN_FINISHED', async () => {
    const { agent, emulator, seen } = await stack({ tokens: 50 }, { retry: false })
    emulator.fault({ type: 'drop', afterTokens: 3 })
    const a = agent()
    a.addMessage(user('Hi'))
    const { events } = await run(a)
    const types = events.map((e) => e.type)
    expect(types.at(-1)).toBe('RUN_ERROR')
    expect(types).not.toContain('RUN_FINISHED')
    expect(events.at(-1)).toMatchObject({ type: 'RUN_ERROR', message: expect.any(String) })
    // The RUN_ERROR is ours, on the wire (the client did not make it up from a network error).
    const body = await seen.responses[0]!.body
    expect(body).toMatch(/\ndata: \{"type":"RUN_ERROR","message":"[^"]+","code":"[^"]+"\}\n\n$/)
  })

  it('ends a run with RUN_ERROR alone when the upstream never answers after pings opened the stream', async () => {
    const { agent, emulator, seen } = await stack(
      {},
      { heartbeatMs: 20, timeoutMs: 300, retry: false },
    )
    emulator.fault({ type: 'stall', ms: 5_000 })
    const a = agent()
    a.addMessage(user('Hi'))
    const { events, newMessages } = await run(a)
    expect(events).toEqual([
      { type: 'RUN_ERROR', message: expect.any(String), code: expect.any(String) },
    ])
    expect(newMessages).toEqual([])
    expect(seen.responses[0]!.status).toBe(200)
    const body = await seen.responses[0]!.body
    expect(body.startsWith(': ping\n\n')).toBe(true)
    expect(body).toMatch(/\n\ndata: \{"type":"RUN_ERROR",[^\n]*\}\n\n$/)
  })

  it('replays a cached reasoning answer in AG-UI form with the same events, and asks the upstream once', async () => {
    const { agent, emulator, seen } = await stack({ reasoning: 'Greeting detected.' })
    const ask = async (threadId: string) => {
      const a = agent(threadId)
      a.addMessage(user('Hi'))
      return run(a, { forwardedProps: { model: GPT_OSS } })
    }
    const first = await ask('thread-a')
    const second = await ask('thread-b')
    const shape = (r: Awaited<ReturnType<typeof ask>>) =>
      r.newMessages.map((m) => [m.role, m.content])
    expect(shape(second)).toEqual([
      ['reasoning', 'Greeting detected.'],
      ['assistant', 'Hello from the emulator'],
    ])
    expect(shape(second)).toEqual(shape(first))
    const types = (r: Awaited<ReturnType<typeof ask>>) => [...new Set(r.events.map((e) => e.type))]
    expect(types(second)).toEqual(types(first))
    expect(seen.responses.map((r) => r.headers.get('x-cache'))).toEqual(['MISS', 'HIT'])
    await emulator.idle()
    expect(emulator.requests).toHaveLength(1)
  })

  it('answers a bad RunAgentInput with a 400 the client shows as HTTP 400 and a clear JSON error', async () => {
    const { agent, emulator } = await stack()
    const a = agent()
    a.addMessage(user('Hi'))
    const error = (await run(a, { forwardedProps: { model: 'gpt-4o' } }).catch(
      (e: unknown) => e,
    )) as Error & {
      status?: number
    }
    expect(error.status).toBe(400)
    expect(error.message).toBe(
      `HTTP 400: {"error":{"message":"forwardedProps.model \\"gpt-4o\\" is not allowed; use one of: ${LLAMA}, ${GPT_OSS}.","type":"invalid_request_error","code":"invalid_request","param":"forwardedProps.model"}}`,
    )
    expect(emulator.requests).toHaveLength(0)
  })

  it('keeps the run alive through heartbeat comments while the upstream is slow to start', async () => {
    const { agent, seen } = await stack({ firstTokenDelayMs: 300 }, { heartbeatMs: 50 })
    const a = agent()
    a.addMessage(user('Hi'))
    const { newMessages } = await run(a)
    expect(newMessages.map((m) => m.content)).toEqual(['Hello from the emulator'])
    expect(await seen.responses[0]!.body).toContain(': ping\n\n')
  })

  it('replays an answer cached through Chat Completions in AG-UI form: one upstream call, X-Cache HIT', async () => {
    const { agent, emulator, seen, origin } = await stack()
    expect(await streamText(openaiClient(origin))).toBe('Hello from the emulator')

    const a = agent()
    a.addMessage(user('Hi'))
    const { newMessages, events } = await run(a)
    expect(newMessages.map((m) => [m.role, m.content])).toEqual([
      ['assistant', 'Hello from the emulator'],
    ])
    expect(events.at(-1)).toMatchObject({
      type: 'RUN_FINISHED',
      metadata: { copilotedge: { cached: true } },
    })
    expect(seen.responses[0]!.headers.get('x-cache')).toBe('HIT')
    await emulator.idle()
    expect(emulator.requests).toHaveLength(1)
  })
})
