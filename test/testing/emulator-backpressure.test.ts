import { afterEach, describe, expect, it } from 'vitest'
import type { EmulatorServer } from '../../src/testing'
import { createWorkersAIEmulator } from '../../src/testing'
import { eventually, inProcess, LLAMA, post, runPath } from './emulator-helpers'

const countFrames = (text: string) => text.split('\n\n').length - 1

describe('backpressure', () => {
  let server: EmulatorServer | null = null
  afterEach(async () => {
    await server?.close()
    server = null
  })

  it('generates a 200,000-token stream only as fast as a slow in-process reader reads it', async () => {
    const emu = createWorkersAIEmulator({ tokens: 200_000 })
    const res = await post(inProcess(emu), runPath(LLAMA), { prompt: 'x', stream: true })
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let text = ''
    let maxAhead = 0
    for (let i = 0; i < 50; i++) {
      const { value } = await reader.read()
      text += decoder.decode(value, { stream: true })
      await new Promise((resolve) => setTimeout(resolve, 1))
      maxAhead = Math.max(maxAhead, emu.requests[0]!.tokensSent - countFrames(text))
    }
    // Never more than one 16 KiB batch of frames ahead of the reader.
    expect(maxAhead).toBeLessThanOrEqual(500)
    expect(emu.requests[0]!.tokensSent).toBeLessThan(50 * 500)
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value, { stream: true })
    }
    expect(countFrames(text)).toBe(200_002)
    expect(
      text.endsWith(
        'data: {"response":"","usage":{"prompt_tokens":1,"completion_tokens":200000,"total_tokens":200001}}\n\ndata: [DONE]\n\n',
      ),
    ).toBe(true)
    expect(emu.requests[0]).toMatchObject({ completed: true, tokensSent: 200_000 })
  })

  it('stops writing to a loopback socket whose reader stopped reading', async () => {
    const emu = createWorkersAIEmulator({ tokens: 1_000_000 })
    server = await emu.listen()
    const res = await fetch(`${server.baseURL}${runPath(LLAMA)}`, {
      method: 'POST',
      headers: { authorization: 'Bearer emulator-token' },
      body: JSON.stringify({ prompt: 'x', stream: true }),
    })
    const reader = res.body!.getReader()
    await reader.read()
    // Wait until the emulator stops generating: the socket and the client's buffers are full.
    let last = -1
    await eventually(() => {
      const sent = emu.requests[0]!.tokensSent
      const settled = sent === last
      last = sent
      expect(settled).toBe(true)
    })
    // Kernel buffers hold a few MB at most: far from the 48 MB the whole reply would take.
    expect(last).toBeLessThan(500_000)
    expect(emu.requests[0]!.completed).toBe(false)
    await reader.cancel()
    await emu.idle()
    expect(emu.requests[0]!.aborted).toBe(true)
  })
})
