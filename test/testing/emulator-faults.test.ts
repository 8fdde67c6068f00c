import { afterEach, describe, expect, it } from 'vitest'
import type { WorkersAIEmulatorOptions } from '../../src/testing'
import { createWorkersAIEmulator } from '../../src/testing'
import {
  chatPath,
  dataOf,
  eventually,
  isSettled,
  LLAMA,
  ManualClock,
  post,
  readAll,
  runPath,
  type Target,
  TRANSPORTS,
  type Transport,
  userSays,
} from './emulator-helpers'

const FRAME = (tok: string) => `data: {"response":"${tok}","p":"p"}\n\n`
const TAIL =
  'data: {"response":"","usage":{"prompt_tokens":1,"completion_tokens":4,"total_tokens":5}}\n\n' +
  'data: [DONE]\n\n'
const FULL = FRAME('tok0 ') + FRAME('tok1 ') + FRAME('tok2 ') + FRAME('tok3 ') + TAIL

async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  seen: { text: string },
  done: (text: string) => boolean,
): Promise<void> {
  const decoder = new TextDecoder()
  while (!done(seen.text)) {
    const { value, done: ended } = await reader.read()
    if (ended) throw new Error(`body ended early: ${seen.text}`)
    seen.text += decoder.decode(value, { stream: true })
  }
}

describe.each(TRANSPORTS)('faults, %s', (name, open) => {
  let transport: Transport | null = null
  afterEach(async () => {
    await transport?.close()
    transport = null
  })

  async function setup(options: WorkersAIEmulatorOptions = {}) {
    const clock = new ManualClock()
    const emu = createWorkersAIEmulator({ tokens: 4, padding: () => 'p', clock, ...options })
    transport = await open(emu)
    const target: Target = transport.target
    const stream = (signal?: AbortSignal) =>
      post(target, runPath(LLAMA), { prompt: 'go', stream: true }, { signal })
    return { emu, clock, target, stream }
  }

  it('answers a status fault with its status, envelope and Retry-After', async () => {
    const { emu, stream } = await setup()
    emu.fault({ type: 'status', status: 429, retryAfter: 7 })
    const res = await stream()
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('7')
    expect((await res.json()).errors[0].code).toBe(3040)
  })

  it('stalls before the first byte for the given time, then answers normally', async () => {
    const { emu, clock, stream } = await setup()
    emu.fault({ type: 'stall', ms: 30_000 })
    const pending = stream()
    await eventually(() => expect(clock.pending).toEqual([30_000]))
    expect(await isSettled(pending)).toBe(false)
    expect(emu.requests[0]!.status).toBe(0)
    clock.fire()
    const res = await pending
    expect(await res.text()).toBe(FULL)
    await emu.idle()
    expect(emu.requests[0]).toMatchObject({ status: 200, completed: true, aborted: false })
  })

  it('stalls without a time until the client aborts, and records the abort', async () => {
    const { emu, clock, stream } = await setup()
    emu.fault({ type: 'stall' })
    const controller = new AbortController()
    const pending = stream(controller.signal)
    await eventually(() => expect(emu.requests).toHaveLength(1))
    expect(clock.pending).toEqual([])
    expect(await isSettled(pending)).toBe(false)
    controller.abort()
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
    await emu.idle()
    expect(emu.requests[0]).toMatchObject({ status: 0, aborted: true, completed: false })
  })

  it('resets the connection before the first byte: fetch fails with a TypeError', async () => {
    const { emu, stream } = await setup()
    emu.fault({ type: 'reset' })
    await expect(stream()).rejects.toThrow(new TypeError('fetch failed'))
    await emu.idle()
    expect(emu.requests[0]).toMatchObject({ status: 0, aborted: false, completed: false })
    // The next request is served normally.
    expect(await (await stream()).text()).toBe(FULL)
  })

  it('drops the body after N tokens: no usage frame, no [DONE]', async () => {
    const { emu, stream } = await setup()
    emu.fault({ type: 'drop', afterTokens: 2 })
    const res = await stream()
    expect(res.status).toBe(200)
    const { text, error } = await readAll(res)
    expect(text).toBe(FRAME('tok0 ') + FRAME('tok1 '))
    // Over loopback the socket ends without the last chunk, so fetch reports it; in-process the
    // body just ends early.
    if (name === 'over loopback') expect(error).toMatchObject({ message: 'terminated' })
    else expect(error).toBeNull()
    await emu.idle()
    expect(emu.requests[0]).toMatchObject({ tokensSent: 2, completed: false, aborted: false })
  })

  it('pauses mid-stream after N tokens, then finishes', async () => {
    const { emu, clock, stream } = await setup()
    emu.fault({ type: 'stall-mid-stream', afterTokens: 2, ms: 5000 })
    const res = await stream()
    const reader = res.body!.getReader()
    const seen = { text: '' }
    await readUntil(reader, seen, (t) => t.includes('tok1'))
    expect(seen.text).toBe(FRAME('tok0 ') + FRAME('tok1 '))
    const next = reader.read()
    await eventually(() => expect(clock.pending).toEqual([5000]))
    expect(await isSettled(next)).toBe(false)
    clock.fire()
    seen.text += new TextDecoder().decode((await next).value)
    await readUntil(reader, seen, (t) => t.endsWith('[DONE]\n\n'))
    expect(seen.text).toBe(FULL)
    await emu.idle()
    expect(emu.requests[0]).toMatchObject({ completed: true, tokensSent: 4 })
  })

  it('pauses mid-stream without a time until the client aborts, and records the abort', async () => {
    const { emu, stream } = await setup()
    emu.fault({ type: 'stall-mid-stream', afterTokens: 1 })
    const controller = new AbortController()
    const res = await stream(controller.signal)
    const reader = res.body!.getReader()
    await readUntil(reader, { text: '' }, (t) => t.includes('tok0'))
    controller.abort()
    await expect(reader.read()).rejects.toMatchObject({ name: 'AbortError' })
    await emu.idle()
    expect(emu.requests[0]).toMatchObject({ aborted: true, completed: false, tokensSent: 1 })
  })

  it('sends one frame of invalid JSON after N tokens, then the rest', async () => {
    const { emu, stream } = await setup()
    emu.fault({ type: 'malformed', afterTokens: 1 })
    const res = await stream()
    expect(await res.text()).toBe(
      `${FRAME('tok0 ')}data: {"response":"oops\n\n${FRAME('tok1 ')}${FRAME('tok2 ')}${FRAME('tok3 ')}${TAIL}`,
    )
  })

  it('sends an error frame after N tokens, then ends the body', async () => {
    const { emu, stream } = await setup()
    emu.fault({ type: 'error-frame', afterTokens: 1 })
    const res = await stream()
    expect((await readAll(res)).text).toBe(
      `${FRAME('tok0 ')}data: {"errors":[{"code":3040,"message":"Capacity temporarily exceeded, please try again."}]}\n\n`,
    )
    await emu.idle()
    expect(emu.requests[0]).toMatchObject({ completed: false, aborted: false, tokensSent: 1 })
  })

  it('uses the code and message an error-frame fault names', async () => {
    const { emu, stream } = await setup()
    emu.fault({ type: 'error-frame', afterTokens: 0, code: 3007, message: 'AiError: timeout' })
    const res = await stream()
    expect(dataOf((await readAll(res)).text)).toEqual([
      '{"errors":[{"code":3007,"message":"AiError: timeout"}]}',
    ])
  })

  it('fires a mid-stream fault before the terminal frames when the reply is shorter', async () => {
    const { emu, stream } = await setup()
    emu.fault({ type: 'drop', afterTokens: 100 })
    const res = await stream()
    expect((await readAll(res)).text).toBe(
      FRAME('tok0 ') + FRAME('tok1 ') + FRAME('tok2 ') + FRAME('tok3 '),
    )
  })

  it('answers a stream request with a complete JSON envelope for json-for-stream', async () => {
    const { emu, stream } = await setup()
    emu.fault({ type: 'json-for-stream' })
    const res = await stream()
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(await res.json()).toEqual({
      result: {
        response: 'tok0 tok1 tok2 tok3 ',
        usage: { prompt_tokens: 1, completion_tokens: 4, total_tokens: 5 },
      },
      success: true,
      errors: [],
      messages: [],
    })
    expect(emu.requests[0]).toMatchObject({ stream: true, completed: true })
  })

  it('answers json-for-stream on /v1/chat/completions with a complete chat.completion', async () => {
    const { emu, target } = await setup()
    emu.fault({ type: 'json-for-stream' })
    const res = await post(target, chatPath(), {
      model: LLAMA,
      messages: userSays('x'),
      stream: true,
    })
    expect(res.headers.get('content-type')).toBe('application/json')
    expect((await res.json()).choices[0].message.content).toBe('tok0 tok1 tok2 tok3 ')
  })
})
