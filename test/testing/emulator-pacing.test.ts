import { afterEach, describe, expect, it, vi } from 'vitest'
import { createWorkersAIEmulator } from '../../src/testing'
import { inProcess, isSettled, LLAMA, ManualClock, post, runPath } from './emulator-helpers'

const decoder = new TextDecoder()

describe('pacing on the injectable clock', () => {
  it('waits tokenDelayMs between tokens, never before the first', async () => {
    const clock = new ManualClock()
    const emu = createWorkersAIEmulator({ tokens: 3, tokenDelayMs: 250, clock, padding: () => 'p' })
    const res = await post(inProcess(emu), runPath(LLAMA), { prompt: 'x', stream: true })
    const reader = res.body!.getReader()
    expect(decoder.decode((await reader.read()).value)).toBe(
      'data: {"response":"tok0 ","p":"p"}\n\n',
    )
    const second = reader.read()
    expect(await isSettled(second)).toBe(false)
    expect(clock.pending).toEqual([250])
    clock.fire()
    expect(decoder.decode((await second).value)).toBe('data: {"response":"tok1 ","p":"p"}\n\n')
    const third = reader.read()
    expect(await isSettled(third)).toBe(false)
    clock.fire()
    // The last token and the terminal frames travel together.
    expect(decoder.decode((await third).value)).toBe(
      'data: {"response":"tok2 ","p":"p"}\n\n' +
        'data: {"response":"","usage":{"prompt_tokens":1,"completion_tokens":3,"total_tokens":4}}\n\n' +
        'data: [DONE]\n\n',
    )
    expect((await reader.read()).done).toBe(true)
  })

  it('sends headers at once and the first byte after firstTokenDelayMs', async () => {
    const clock = new ManualClock()
    const emu = createWorkersAIEmulator({ tokens: 1, firstTokenDelayMs: 900, clock })
    const res = await post(inProcess(emu), runPath(LLAMA), { prompt: 'x', stream: true })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    const first = reader.read()
    expect(await isSettled(first)).toBe(false)
    expect(clock.pending).toEqual([900])
    clock.fire()
    expect(decoder.decode((await first).value)).toContain('tok0')
  })

  it('holds a non-stream answer for as long as generating it would take', async () => {
    const clock = new ManualClock()
    const emu = createWorkersAIEmulator({
      tokens: 4,
      tokenDelayMs: 10,
      firstTokenDelayMs: 100,
      clock,
    })
    const pending = post(inProcess(emu), runPath(LLAMA), { prompt: 'x' })
    expect(await isSettled(pending)).toBe(false)
    expect(clock.pending).toEqual([140])
    clock.fire()
    expect((await (await pending).json()).result.response).toBe('tok0 tok1 tok2 tok3 ')
  })

  it('stamps created from clock.now', async () => {
    const emu = createWorkersAIEmulator({
      clock: { ...new ManualClock(), now: () => 1_234_567_000 },
    })
    const res = await post(inProcess(emu), runPath('@cf/openai/gpt-oss-20b'), { prompt: 'x' })
    expect((await res.json()).result.created).toBe(1_234_567)
  })
})

describe('pacing on global timers', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('follows fake timers installed after the emulator was created', async () => {
    const emu = createWorkersAIEmulator({ tokens: 2, tokenDelayMs: 1000 })
    vi.useFakeTimers()
    const res = await post(inProcess(emu), runPath(LLAMA), { prompt: 'x', stream: true })
    const reader = res.body!.getReader()
    await reader.read()
    const second = reader.read()
    await vi.advanceTimersByTimeAsync(999)
    expect(emu.requests[0]!.tokensSent).toBe(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(decoder.decode((await second).value)).toContain('tok1')
  })
})
