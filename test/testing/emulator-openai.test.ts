import { describe, expect, it } from 'vitest'
import { createWorkersAIEmulator } from '../../src/testing'
import {
  chatPath,
  dataOf,
  GPT_OSS,
  inProcess,
  LLAMA,
  post,
  runPath,
  userSays,
  WEATHER_TOOL,
} from './emulator-helpers'

/** Rebuilds an OpenAI chunk with the id and created the emulator chose. */
function chunkOf(head: { id: string; created: number; model: string }, rest: object): string {
  return `data: ${JSON.stringify({ id: head.id, object: 'chat.completion.chunk', created: head.created, model: head.model, ...rest })}\n\n`
}

function headOf(text: string): { id: string; created: number; model: string } {
  const first = JSON.parse(dataOf(text)[0]!)
  return { id: first.id, created: first.created, model: first.model }
}

describe('OpenAI chunks on /ai/run (chat-completions-typed models)', () => {
  it('sends role, content, finish, usage, the universal terminal frame and [DONE]', async () => {
    const emu = createWorkersAIEmulator({ reply: 'A B' })
    const res = await post(inProcess(emu), runPath(GPT_OSS), {
      messages: userSays('hi'),
      stream: true,
    })
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    const text = await res.text()
    const head = headOf(text)
    expect(head.id).toMatch(/^chatcmpl-/)
    expect(head.model).toBe(GPT_OSS)
    const usage = (c: number) => ({ prompt_tokens: 1, completion_tokens: c, total_tokens: 1 + c })
    const choice = (delta: object, finish: string | null) => [
      { index: 0, delta, logprobs: null, finish_reason: finish },
    ]
    expect(text).toBe(
      chunkOf(head, {
        choices: choice({ role: 'assistant', content: '' }, null),
        usage: usage(0),
      }) +
        chunkOf(head, { choices: choice({ content: 'A ' }, null), usage: usage(1) }) +
        chunkOf(head, { choices: choice({ content: 'B' }, null), usage: usage(2) }) +
        chunkOf(head, { choices: choice({}, 'stop') }) +
        chunkOf(head, { choices: [], usage: usage(2) }) +
        `data: ${JSON.stringify({ response: '', usage: usage(2) })}\n\n` +
        'data: [DONE]\n\n',
    )
  })

  it('streams native frames instead when streamShape is native', async () => {
    const emu = createWorkersAIEmulator({ reply: 'x', streamShape: 'native', padding: () => 'p' })
    const res = await post(inProcess(emu), runPath(GPT_OSS), { prompt: 'p', stream: true })
    expect(dataOf(await res.text())[0]).toBe('{"response":"x","p":"p"}')
  })
})

describe('/ai/v1/chat/completions', () => {
  it('streams plain OpenAI chunks without usage unless asked', async () => {
    const emu = createWorkersAIEmulator({ reply: 'Hi you' })
    const res = await post(inProcess(emu), chatPath(), {
      model: LLAMA,
      messages: userSays('hello'),
      stream: true,
    })
    const text = await res.text()
    const head = headOf(text)
    const choice = (delta: object, finish: string | null) => [
      { index: 0, delta, logprobs: null, finish_reason: finish },
    ]
    expect(text).toBe(
      chunkOf(head, { choices: choice({ role: 'assistant', content: '' }, null) }) +
        chunkOf(head, { choices: choice({ content: 'Hi ' }, null) }) +
        chunkOf(head, { choices: choice({ content: 'you' }, null) }) +
        chunkOf(head, { choices: choice({}, 'stop') }) +
        'data: [DONE]\n\n',
    )
    expect(emu.requests[0]).toMatchObject({ route: 'chat-completions', model: LLAMA })
  })

  it('adds usage:null to each chunk and a usage chunk with stream_options.include_usage', async () => {
    const emu = createWorkersAIEmulator({ tokens: 3 })
    const res = await post(inProcess(emu), chatPath(), {
      model: LLAMA,
      messages: userSays('count please'),
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 2,
    })
    const frames = dataOf(await res.text())
    expect(frames.at(-1)).toBe('[DONE]')
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f))
    expect(chunks.map((c) => c.usage)).toEqual([
      null,
      null,
      null,
      null,
      { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 },
    ])
    expect(chunks[3].choices[0].finish_reason).toBe('length')
    expect(chunks[4].choices).toEqual([])
  })

  it('streams a tool call in the OpenAI incremental form', async () => {
    const emu = createWorkersAIEmulator()
    const res = await post(inProcess(emu), chatPath(), {
      model: LLAMA,
      messages: userSays('What is the weather in New York?'),
      tools: [WEATHER_TOOL],
      stream: true,
    })
    const chunks = dataOf(await res.text())
      .slice(0, -1)
      .map((f) => JSON.parse(f))
    const deltas = chunks.map((c) => c.choices[0].delta)
    const id = deltas[1].tool_calls[0].id
    expect(deltas[1].tool_calls).toEqual([
      { index: 0, id, type: 'function', function: { name: 'get_weather', arguments: '' } },
    ])
    const args = deltas
      .slice(2, -1)
      .map((d) => d.tool_calls[0].function.arguments)
      .join('')
    expect(JSON.parse(args)).toEqual({ city: 'New York' })
    expect(chunks.at(-1).choices[0].finish_reason).toBe('tool_calls')
  })

  it('answers a non-stream request with a plain chat.completion, no envelope', async () => {
    const emu = createWorkersAIEmulator({ reply: 'ok' })
    const res = await post(inProcess(emu), chatPath(), { model: LLAMA, messages: userSays('x') })
    expect(res.headers.get('content-type')).toBe('application/json')
    const body = await res.json()
    expect(body).not.toHaveProperty('result')
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: LLAMA,
      choices: [{ message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    })
  })

  it('returns a named tool call with content null when tool_choice forces it', async () => {
    const emu = createWorkersAIEmulator()
    const res = await post(inProcess(emu), chatPath(), {
      model: LLAMA,
      messages: userSays('anything'),
      tools: [WEATHER_TOOL],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    })
    const choice = (await res.json()).choices[0]
    expect(choice.finish_reason).toBe('tool_calls')
    expect(choice.message.content).toBeNull()
    expect(choice.message.tool_calls).toEqual([
      {
        id: expect.stringMatching(/^[a-zA-Z0-9]{9}$/),
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"emulator"}' },
      },
    ])
  })
})

describe('reasoning (OpenAI-shaped answers)', () => {
  it('streams reasoning_content deltas before the content, counted in usage', async () => {
    const emu = createWorkersAIEmulator({ reasoning: 'Let me think.', reply: 'Done.' })
    const res = await post(inProcess(emu), runPath(GPT_OSS), { prompt: 'q', stream: true })
    const chunks = dataOf(await res.text())
      .filter((d) => d !== '[DONE]')
      .map((d) => JSON.parse(d))
    const deltas = chunks.filter((c) => c.choices?.length).map((c) => c.choices[0].delta)
    expect(deltas).toEqual([
      { role: 'assistant', content: '' },
      { reasoning_content: 'Let ' },
      { reasoning_content: 'me ' },
      { reasoning_content: 'think.' },
      { content: 'Done.' },
      {},
    ])
    expect(chunks.at(-1).usage).toEqual({ prompt_tokens: 1, completion_tokens: 4, total_tokens: 5 })
  })

  it('returns message.reasoning_content in a complete chat.completion', async () => {
    const emu = createWorkersAIEmulator({ reasoning: () => 'Hmm.', reply: 'Yes.' })
    const res = await post(inProcess(emu), chatPath(), { model: LLAMA, messages: userSays('q') })
    expect((await res.json()).choices[0].message).toEqual({
      role: 'assistant',
      content: 'Yes.',
      reasoning_content: 'Hmm.',
    })
  })

  it('leaves reasoning out of native frames', async () => {
    const emu = createWorkersAIEmulator({
      reasoning: 'Hidden.',
      reply: 'Shown.',
      padding: () => 'p',
    })
    const res = await post(inProcess(emu), runPath(LLAMA), { prompt: 'q', stream: true })
    expect(dataOf(await res.text()).slice(0, 2)).toEqual([
      '{"response":"Shown.","p":"p"}',
      '{"response":"","usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}',
    ])
  })
})
