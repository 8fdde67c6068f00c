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
} from './emulator-helpers'

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}

/** Rebuilds an OpenAI chunk with the id and created the emulator chose. */
function chunkOf(head: { id: string; created: number; model: string }, rest: object): string {
  return `data: ${JSON.stringify({ id: head.id, object: 'chat.completion.chunk', created: head.created, model: head.model, ...rest })}\n\n`
}

function headOf(text: string): { id: string; created: number; model: string } {
  const first = JSON.parse(dataOf(text)[0]!)
  return { id: first.id, created: first.created, model: first.model }
}

describe('native /ai/run streams', () => {
  it('sends one padded frame per word, then the usage frame, then [DONE], byte for byte', async () => {
    const emu = createWorkersAIEmulator({
      reply: 'Hello there, friend.',
      padding: (i) => `pad${i}`,
    })
    const res = await post(inProcess(emu), runPath(LLAMA), {
      messages: userSays('say hi to me'),
      stream: true,
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    expect(await res.text()).toBe(
      'data: {"response":"Hello ","p":"pad0"}\n\n' +
        'data: {"response":"there, ","p":"pad1"}\n\n' +
        'data: {"response":"friend.","p":"pad2"}\n\n' +
        'data: {"response":"","usage":{"prompt_tokens":4,"completion_tokens":3,"total_tokens":7}}\n\n' +
        'data: [DONE]\n\n',
    )
    expect(emu.requests[0]).toMatchObject({
      route: 'run',
      model: LLAMA,
      stream: true,
      status: 200,
      completed: true,
      aborted: false,
      tokensSent: 3,
    })
  })

  it('pads with random letters of varying length by default', async () => {
    const emu = createWorkersAIEmulator({ tokens: 40 })
    const res = await post(inProcess(emu), runPath(LLAMA), { prompt: 'go', stream: true })
    const pads = dataOf(await res.text())
      .slice(0, 40)
      .map((d) => JSON.parse(d).p as string)
    for (const p of pads) expect(p).toMatch(/^[A-Za-z0-9]{1,16}$/)
    expect(new Set(pads.map((p) => p.length)).size).toBeGreaterThan(1)
  })

  it('says it is the emulator and echoes the last user message by default', async () => {
    const emu = createWorkersAIEmulator()
    const res = await post(inProcess(emu), runPath(LLAMA), {
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'What is 2+2?' },
      ],
    })
    const body = await res.json()
    expect(body.result.response).toBe(
      'This answer comes from the copilotedge Workers AI emulator, not a real model. You said: What is 2+2?',
    )
  })

  it('streams a tool call as the opening fragment, argument deltas and the null sentinel', async () => {
    const emu = createWorkersAIEmulator({ padding: () => 'p' })
    const res = await post(inProcess(emu), runPath(LLAMA), {
      messages: userSays("What's the weather in Paris?"),
      tools: [WEATHER_TOOL],
      stream: true,
    })
    const frames = dataOf(await res.text()).map((d) => (d === '[DONE]' ? d : JSON.parse(d)))
    const id = frames[0].tool_calls[0].id
    expect(id).toMatch(/^[a-zA-Z0-9]{9}$/)
    expect(frames).toEqual([
      {
        tool_calls: [{ id, type: 'function', index: 0, function: { name: 'get_weather' } }],
        p: 'p',
      },
      { tool_calls: [{ index: 0, function: { arguments: '{' } }], p: 'p' },
      { tool_calls: [{ index: 0, function: { arguments: '"city":' } }], p: 'p' },
      { tool_calls: [{ index: 0, function: { arguments: '"Paris"' } }], p: 'p' },
      { tool_calls: [{ index: 0, function: { arguments: '}' } }], p: 'p' },
      {
        tool_calls: [{ id: null, type: null, index: 0, function: { name: null, arguments: '' } }],
        p: 'p',
      },
      { response: '', usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 } },
      '[DONE]',
    ])
  })

  it('answers with text when the tools are not asked for, or after the tool result', async () => {
    const emu = createWorkersAIEmulator({ reply: 'plain' })
    const target = inProcess(emu)
    const unrelated = await post(target, runPath(LLAMA), {
      messages: userSays('tell me a joke'),
      tools: [WEATHER_TOOL],
    })
    expect((await unrelated.json()).result).toEqual({
      response: 'plain',
      usage: { prompt_tokens: 4, completion_tokens: 1, total_tokens: 5 },
    })
    const afterTool = await post(target, runPath(LLAMA), {
      messages: [
        { role: 'user', content: 'weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [] },
        { role: 'tool', tool_call_id: 'abcdefghi', content: '{"temp":20}' },
      ],
      tools: [WEATHER_TOOL],
    })
    expect((await afterTool.json()).result.response).toBe('plain')
  })

  it('stops after max_tokens tokens', async () => {
    const emu = createWorkersAIEmulator({ tokens: 10, padding: () => 'p' })
    const res = await post(inProcess(emu), runPath(LLAMA), {
      prompt: 'count',
      max_tokens: 2,
      stream: true,
    })
    expect(await res.text()).toBe(
      'data: {"response":"tok0 ","p":"p"}\n\n' +
        'data: {"response":"tok1 ","p":"p"}\n\n' +
        'data: {"response":"","usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}\n\n' +
        'data: [DONE]\n\n',
    )
  })

  it('streams OpenAI chunks for any model when streamShape is openai', async () => {
    const emu = createWorkersAIEmulator({ reply: 'x', streamShape: 'openai' })
    const res = await post(inProcess(emu), runPath(LLAMA), { prompt: 'p', stream: true })
    const first = JSON.parse(dataOf(await res.text())[0]!)
    expect(first.object).toBe('chat.completion.chunk')
  })
})

describe('non-stream /ai/run answers', () => {
  it('wraps a native result in the v4 envelope', async () => {
    const emu = createWorkersAIEmulator({ reply: 'Two words' })
    const res = await post(inProcess(emu), runPath(LLAMA), { prompt: 'one two three' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(await res.text()).toBe(
      '{"result":{"response":"Two words","usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}},"success":true,"errors":[],"messages":[]}',
    )
    expect(emu.requests[0]).toMatchObject({ stream: false, completed: true, tokensSent: 2 })
  })

  it('returns a native tool call in the legacy {name, arguments} form', async () => {
    const emu = createWorkersAIEmulator()
    const res = await post(inProcess(emu), runPath(LLAMA), {
      messages: userSays('weather in Rome please'),
      tools: [{ name: 'get_weather', parameters: WEATHER_TOOL.function.parameters }],
    })
    expect((await res.json()).result.tool_calls).toEqual([
      { name: 'get_weather', arguments: { city: 'Rome' } },
    ])
  })

  it('puts a full chat.completion in result for chat-completions-typed models', async () => {
    const emu = createWorkersAIEmulator({ reply: 'Fine.' })
    const res = await post(inProcess(emu), runPath(GPT_OSS), { messages: userSays('hi') })
    const body = await res.json()
    expect(body).toMatchObject({ success: true, errors: [], messages: [] })
    expect(body.result).toEqual({
      id: expect.stringMatching(/^chatcmpl-/),
      object: 'chat.completion',
      created: expect.any(Number),
      model: GPT_OSS,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Fine.' },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    })
  })
})

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

describe('replies and recording', () => {
  it('uses a reply function given the model, messages and body', async () => {
    const emu = createWorkersAIEmulator({
      reply: ({ model, messages, body }) => `${model}|${messages.length}|${body.temperature}`,
    })
    const res = await post(inProcess(emu), runPath(LLAMA), {
      messages: userSays('a'),
      temperature: 0.2,
    })
    expect((await res.json()).result.response).toBe(`${LLAMA}|1|0.2`)
  })

  it('records method, path, parsed body and lower-cased headers', async () => {
    const emu = createWorkersAIEmulator()
    const body = { prompt: 'hi', stream: false }
    await post(inProcess(emu), runPath(LLAMA), body)
    expect(emu.requests).toEqual([
      expect.objectContaining({
        id: 1,
        method: 'POST',
        path: `/client/v4/accounts/emulator-account/ai/run/${LLAMA}`,
        body,
        headers: expect.objectContaining({
          authorization: 'Bearer emulator-token',
          'content-type': 'application/json',
        }),
        fault: null,
      }),
    ])
  })

  it('keeps the model exactly as written in the path, so an encoded id is an unknown model', async () => {
    const emu = createWorkersAIEmulator()
    const res = await post(inProcess(emu), runPath(encodeURIComponent(LLAMA)), { prompt: 'x' })
    expect(res.status).toBe(400)
    expect(emu.requests[0]!.model).toBe('%40cf%2Fmeta%2Fllama-3.1-8b-instruct')
  })

  it('works as a plain Fetch handler with a custom account, token and model list', async () => {
    const emu = createWorkersAIEmulator({
      accountId: 'acct',
      apiToken: 'secret',
      models: ['@cf/x/y'],
      reply: 'r',
    })
    const res = await emu.fetch(
      new Request(`${emu.baseURL}/accounts/acct/ai/run/@cf/x/y`, {
        method: 'POST',
        headers: { authorization: 'Bearer secret' },
        body: JSON.stringify({ prompt: 'q' }),
      }),
    )
    expect((await res.json()).result.response).toBe('r')
    expect(emu.baseURL).toBe('http://workers-ai.emulator/client/v4')
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

describe('AI Gateway URLs', () => {
  it.each([
    [`${LLAMA}`, 'run'],
    [`run/${LLAMA}`, 'run'],
    ['v1/chat/completions', 'chat-completions'],
  ])('answers workers-ai/%s like the REST route, recording the gateway id', async (path, route) => {
    const emu = createWorkersAIEmulator({ reply: 'via gateway' })
    const res = await emu.fetchImpl(
      `https://gateway.ai.cloudflare.com/v1/emulator-account/my-gw/workers-ai/${path}`,
      {
        method: 'POST',
        headers: { authorization: 'Bearer emulator-token', 'cf-aig-skip-cache': 'true' },
        body: JSON.stringify({ model: LLAMA, messages: userSays('hi') }),
      },
    )
    expect(res.status).toBe(200)
    expect(JSON.stringify(await res.json())).toContain('via gateway')
    expect(emu.requests[0]).toMatchObject({
      route,
      model: LLAMA,
      gateway: 'my-gw',
      headers: expect.objectContaining({ 'cf-aig-skip-cache': 'true' }),
    })
  })

  it('records gateway null for the REST routes', async () => {
    const emu = createWorkersAIEmulator()
    await post(inProcess(emu), runPath(LLAMA), { prompt: 'x' })
    expect(emu.requests[0]!.gateway).toBeNull()
  })
})
