import { describe, expect, it } from 'vitest'
import { createWorkersAIEmulator } from '../../src/testing'
import {
  dataOf,
  GPT_OSS,
  inProcess,
  LLAMA,
  post,
  runPath,
  userSays,
  WEATHER_TOOL,
} from './emulator-helpers'

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

describe('choosing between text and a tool call', () => {
  const ask = async (body: Record<string, unknown>) => {
    const emu = createWorkersAIEmulator({ reply: 'text' })
    const res = await post(inProcess(emu), runPath(LLAMA), { tools: [WEATHER_TOOL], ...body })
    return (await res.json()).result
  }

  it('calls the first tool for tool_choice required, whatever the user said', async () => {
    const result = await ask({ messages: userSays('hello'), tool_choice: 'required' })
    expect(result.tool_calls).toEqual([{ name: 'get_weather', arguments: { city: 'emulator' } }])
  })

  it('answers with text for tool_choice none, even when the user asks for the weather', async () => {
    const result = await ask({ messages: userSays('weather in Oslo?'), tool_choice: 'none' })
    expect(result).not.toHaveProperty('tool_calls')
    expect(result.response).toBe('text')
  })

  it('reads text parts of array content when echoing the user', async () => {
    const emu = createWorkersAIEmulator()
    const res = await post(inProcess(emu), runPath(LLAMA), {
      messages: [{ role: 'user', content: [{ type: 'text', text: 'from parts' }] }],
    })
    expect((await res.json()).result.response).toMatch(/You said: from parts$/)
  })
})
