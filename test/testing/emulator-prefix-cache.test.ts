import { describe, expect, it } from 'vitest'
import { createWorkersAIEmulator } from '../../src/testing'
import { dataOf, GPT_OSS, inProcess, LLAMA, post, runPath } from './emulator-helpers'

// Blocks of 4 words keep the arithmetic readable: a prompt of N words can reuse at most the whole
// blocks before its last word, floor((N - 1) / 4) * 4 of them.
const BLOCK = 4

/** A conversation's messages: a 6-word system prompt, then the turns given (user, assistant, ...). */
function conversation(...turns: string[]) {
  return [
    { role: 'system', content: 'You answer in one short sentence.' },
    ...turns.map((content, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content })),
  ]
}

const TURN_1 = conversation('What is the capital of France?') // 6 + 6 = 12 words
const TURN_2 = conversation(
  'What is the capital of France?',
  'Paris is the capital.',
  'And of Spain?',
) // 12 + 4 + 3 = 19 words

function emulator() {
  return createWorkersAIEmulator({ reply: 'Fine.', prefixCache: { blockTokens: BLOCK } })
}

const affinity = (value: string) => ({ headers: { 'x-session-affinity': value } })

describe('prefix caching by x-session-affinity', () => {
  it('reports the prompt prefix seen before under the same affinity as cached_tokens, byte for byte', async () => {
    const emu = emulator()
    const target = inProcess(emu)
    const first = await post(
      target,
      runPath(LLAMA),
      { messages: TURN_1, stream: true },
      affinity('conv-a'),
    )
    // Cold: no cached_tokens at all (Cloudflare: "not returned on the first hit").
    expect(dataOf(await first.text()).at(-2)).toBe(
      '{"response":"","usage":{"prompt_tokens":12,"completion_tokens":1,"total_tokens":13}}',
    )
    const second = await post(
      target,
      runPath(LLAMA),
      { messages: TURN_2, stream: true },
      affinity('conv-a'),
    )
    // Turn 1's 12 words are turn 2's first 12: three whole blocks.
    expect(dataOf(await second.text()).at(-2)).toBe(
      '{"response":"","usage":{"prompt_tokens":19,"completion_tokens":1,"total_tokens":20,"prompt_tokens_details":{"cached_tokens":12}}}',
    )
    expect(emu.requests.map((r) => [r.headers['x-session-affinity'], r.cachedTokens])).toEqual([
      ['conv-a', 0],
      ['conv-a', 12],
    ])
  })

  it('reuses nothing across affinity values, nor without the header', async () => {
    const emu = emulator()
    const target = inProcess(emu)
    await post(target, runPath(LLAMA), { messages: TURN_1 }, affinity('conv-a'))
    const other = await post(target, runPath(LLAMA), { messages: TURN_2 }, affinity('conv-b'))
    const none = await post(target, runPath(LLAMA), { messages: TURN_2 })
    for (const res of [other, none]) {
      expect(((await res.json()) as { result: { usage: unknown } }).result.usage).toEqual({
        prompt_tokens: 19,
        completion_tokens: 1,
        total_tokens: 20,
      })
    }
    expect(emu.requests.map((r) => r.cachedTokens)).toEqual([0, 0, 0])
  })

  it('counts whole blocks only, and never the block holding the prompt’s last token', async () => {
    const emu = emulator()
    const target = inProcess(emu)
    const ask = async (messages: unknown[]) => {
      await post(target, runPath(LLAMA), { messages }, affinity('conv-a'))
      return emu.requests.at(-1)?.cachedTokens
    }
    expect(await ask(TURN_1)).toBe(0)
    // The same 12 words again: blocks 1-2 reused, block 3 ends with the last token (prefilled anew).
    expect(await ask(TURN_1)).toBe(8)
    // A branch (another answer to turn 1) still reuses turn 1's blocks.
    expect(await ask(conversation('What is the capital of France?', 'Lyon? No.', 'Sure?'))).toBe(12)
    // A new question after the same system prompt reuses the system prompt's whole block.
    expect(await ask(conversation('Who are you?'))).toBe(4)
    // A prompt that differs in its first block reuses nothing.
    expect(await ask([{ role: 'system', content: 'Be terse.' }, ...TURN_1.slice(1)])).toBe(0)
  })

  it('reports cached_tokens in OpenAI-shaped answers, streamed and not', async () => {
    const emu = createWorkersAIEmulator({
      reply: 'Fine.',
      prefixCache: { blockTokens: BLOCK },
      padding: () => 'p',
    })
    const target = inProcess(emu)
    await post(target, runPath(GPT_OSS), { messages: TURN_1 }, affinity('c'))
    const streamed = await post(
      target,
      runPath(GPT_OSS),
      { messages: TURN_2, stream: true },
      affinity('c'),
    )
    const frames = dataOf(await streamed.text()).map((d) => (d === '[DONE]' ? d : JSON.parse(d)))
    const cached = { prompt_tokens_details: { cached_tokens: 12 } }
    // Every chunk's cumulative usage, the choices:[] usage chunk and the universal terminal frame.
    for (const frame of frames.slice(0, -2)) {
      if (frame.usage) expect(frame.usage).toMatchObject(cached)
    }
    expect(frames.at(-2)).toEqual({
      response: '',
      usage: { prompt_tokens: 19, completion_tokens: 1, total_tokens: 20, ...cached },
    })
    const json = await post(target, runPath(GPT_OSS), { messages: TURN_2 }, affinity('c'))
    expect(((await json.json()) as { result: { usage: unknown } }).result.usage).toEqual({
      prompt_tokens: 19,
      completion_tokens: 1,
      total_tokens: 20,
      // Turn 2 seen whole now: every block but the one holding its last word.
      prompt_tokens_details: { cached_tokens: 16 },
    })
  })

  it('is off with prefixCache: false', async () => {
    const emu = createWorkersAIEmulator({ prefixCache: false })
    const target = inProcess(emu)
    for (let i = 0; i < 2; i++) {
      await post(target, runPath(LLAMA), { messages: TURN_2 }, affinity('conv-a'))
    }
    expect(emu.requests.map((r) => r.cachedTokens)).toEqual([0, 0])
  })

  it('forgets everything on reset()', async () => {
    const emu = emulator()
    const target = inProcess(emu)
    await post(target, runPath(LLAMA), { messages: TURN_1 }, affinity('conv-a'))
    emu.reset()
    await post(target, runPath(LLAMA), { messages: TURN_2 }, affinity('conv-a'))
    expect(emu.requests.map((r) => r.cachedTokens)).toEqual([0])
  })
})

describe('prefix caching over a pool of model instances (prefixCache.instances)', () => {
  const pool = (instances: number) =>
    createWorkersAIEmulator({ reply: 'Fine.', prefixCache: { blockTokens: BLOCK, instances } })

  it('sends one affinity value to one instance, whose cache every request routed there shares', async () => {
    const emu = pool(1)
    const target = inProcess(emu)
    await post(target, runPath(LLAMA), { messages: TURN_1 }, affinity('conv-a'))
    // Another conversation on the same (only) instance reuses the system prompt's whole block.
    await post(
      target,
      runPath(LLAMA),
      { messages: conversation('Who are you?') },
      affinity('conv-b'),
    )
    // Without the header too: here every request reaches that one instance.
    await post(target, runPath(LLAMA), { messages: TURN_2 })
    expect(emu.requests.map((r) => [r.instance, r.cachedTokens])).toEqual([
      [0, 0],
      [0, 4],
      [0, 12],
    ])
  })

  it('routes by the affinity value’s hash, and requests without one to seeded random instances', async () => {
    const emu = pool(8)
    const target = inProcess(emu)
    for (let i = 0; i < 3; i++) {
      await post(target, runPath(LLAMA), { messages: TURN_1 }, affinity('conv-a'))
    }
    for (let i = 0; i < 16; i++) await post(target, runPath(LLAMA), { messages: TURN_1 })
    const withAffinity = emu.requests.slice(0, 3).map((r) => r.instance)
    expect(new Set(withAffinity).size).toBe(1)
    const without = emu.requests.slice(3).map((r) => r.instance)
    expect(new Set(without).size).toBeGreaterThan(2)
    for (const instance of without) expect(instance).toBeGreaterThanOrEqual(0)
    // The same draws on every run.
    const again = pool(8)
    for (let i = 0; i < 16; i++) await post(inProcess(again), runPath(LLAMA), { messages: TURN_1 })
    expect(again.requests.map((r) => r.instance)).toEqual(without)
  })
})

describe('the emulated binding (env.AI)', () => {
  it('sends extraHeaders, so the affinity reaches the emulator, and answers the bare result', async () => {
    const emu = emulator()
    const options = { extraHeaders: { 'x-session-affinity': 'conv-a' } }
    await emu.binding.run(LLAMA, { messages: TURN_1 }, options)
    const result = await emu.binding.run(LLAMA, { messages: TURN_2 }, options)
    expect(result).toEqual({
      response: 'Fine.',
      usage: {
        prompt_tokens: 19,
        completion_tokens: 1,
        total_tokens: 20,
        prompt_tokens_details: { cached_tokens: 12 },
      },
    })
    expect(emu.requests[1]).toMatchObject({
      route: 'run',
      model: LLAMA,
      gateway: null,
      cachedTokens: 12,
      headers: { 'x-session-affinity': 'conv-a', authorization: 'Bearer emulator-token' },
    })
  })

  it('streams a ReadableStream of the SSE bytes, with the cached tokens in the usage frame', async () => {
    const emu = emulator()
    const options = { extraHeaders: { 'x-session-affinity': 'conv-a' } }
    await emu.binding.run(LLAMA, { messages: TURN_1 }, options)
    const stream = (await emu.binding.run(
      LLAMA,
      { messages: TURN_2, stream: true },
      options,
    )) as ReadableStream<Uint8Array>
    const text = await new Response(stream).text()
    expect(JSON.parse(dataOf(text).at(-2) as string).usage).toEqual({
      prompt_tokens: 19,
      completion_tokens: 1,
      total_tokens: 20,
      prompt_tokens_details: { cached_tokens: 12 },
    })
  })

  it('goes by the gateway route with options.gateway, and throws "<code>: <message>" on failure', async () => {
    const emu = emulator()
    await emu.binding.run(LLAMA, { prompt: 'hi' }, { gateway: { id: 'gw' } })
    expect(emu.requests[0]).toMatchObject({ gateway: 'gw', model: LLAMA, status: 200 })
    await expect(emu.binding.run('@cf/nope/model', { prompt: 'hi' })).rejects.toThrow(/^5007: /)
  })
})
