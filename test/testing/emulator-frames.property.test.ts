import { createParser } from 'eventsource-parser'
import * as fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createWorkersAIEmulator } from '../../src/testing'
import { splitTokens } from '../../src/testing/emulator-reply'
import { chatPath, inProcess, LLAMA, post, runPath, userSays } from './emulator-helpers'

/** Parses SSE bytes fed in arbitrary pieces, as a client receiving them from the network would. */
function parseEvents(bytes: Uint8Array, cuts: number[]): string[] {
  const events: string[] = []
  const parser = createParser({ onEvent: (event) => events.push(event.data) })
  const decoder = new TextDecoder()
  let at = 0
  for (const cut of [...cuts.map((c) => c % (bytes.length + 1)), bytes.length].sort(
    (a, b) => a - b,
  )) {
    parser.feed(decoder.decode(bytes.subarray(at, cut), { stream: true }))
    at = cut
  }
  parser.feed(decoder.decode())
  return events
}

const replies = fc.string({ unit: 'binary', maxLength: 200 })
const cuts = fc.array(fc.nat(), { maxLength: 8 })

describe('frames parse back to the reply, whatever it holds and however the bytes are cut', () => {
  it('splits any text into tokens that concatenate to exactly that text', () => {
    fc.assert(
      fc.property(replies, (text) => {
        const tokens = splitTokens(text)
        expect(tokens.join('')).toBe(text)
        expect(tokens.every((t) => t !== '')).toBe(true)
      }),
    )
  })

  it('native frames: the responses concatenate to the reply, then usage, then [DONE]', async () => {
    await fc.assert(
      fc.asyncProperty(replies, cuts, async (reply, at) => {
        const emu = createWorkersAIEmulator({ reply })
        const res = await post(inProcess(emu), runPath(LLAMA), { prompt: 'q', stream: true })
        const events = parseEvents(new Uint8Array(await res.arrayBuffer()), at)
        expect(events.at(-1)).toBe('[DONE]')
        const frames = events.slice(0, -1).map((d) => JSON.parse(d))
        const terminal = frames.pop()
        expect(terminal).toEqual({
          response: '',
          usage: {
            prompt_tokens: 1,
            completion_tokens: frames.length,
            total_tokens: 1 + frames.length,
          },
        })
        expect(frames.map((f) => f.response).join('')).toBe(reply)
        for (const f of frames) expect(typeof f.p).toBe('string')
      }),
      { numRuns: 60 },
    )
  })

  it('OpenAI chunks: the content deltas concatenate to the reply', async () => {
    await fc.assert(
      fc.asyncProperty(replies, cuts, async (reply, at) => {
        const emu = createWorkersAIEmulator({ reply })
        const res = await post(inProcess(emu), chatPath(), {
          model: LLAMA,
          messages: userSays('q'),
          stream: true,
        })
        const events = parseEvents(new Uint8Array(await res.arrayBuffer()), at)
        expect(events.at(-1)).toBe('[DONE]')
        const chunks = events.slice(0, -1).map((d) => JSON.parse(d))
        const content = chunks.map((c) => c.choices[0].delta.content ?? '').join('')
        expect(content).toBe(reply)
        expect(chunks.at(-1).choices[0].finish_reason).toBe('stop')
        expect(new Set(chunks.map((c) => c.id)).size).toBe(1)
      }),
      { numRuns: 60 },
    )
  })
})
