import { describe, expect, it } from 'vitest'
import { sessionAffinity } from '../../../src/server/engine/session-affinity'
import type { ChatMessage } from '../../../src/shared/chat-types'

const SYSTEM: ChatMessage = { role: 'system', content: 'You are a terse travel guide.' }

/** Turn n of a conversation that opens with `question`: each turn appends an answer and a question. */
function turn(question: string, n: number): ChatMessage[] {
  const messages: ChatMessage[] = [SYSTEM, { role: 'user', content: question }]
  for (let i = 1; i < n; i++) {
    messages.push({ role: 'assistant', content: `Answer ${i}.` })
    messages.push({ role: 'user', content: `Follow-up ${i}?` })
  }
  return messages
}

describe('sessionAffinity', () => {
  it('is the same for every turn of one conversation: the hash of its opening (system + first question)', () => {
    const values = [1, 2, 3, 6].map((n) => sessionAffinity({ messages: turn('Paris?', n) }))
    expect(new Set(values).size).toBe(1)
    // Pinned: a value that changed between versions would cost every live conversation its cache.
    expect(values[0]).toBe('7c80cdf9fb84275e')
  })

  it('differs between conversations that open differently', () => {
    const a = sessionAffinity({ messages: turn('Paris?', 3) })
    const b = sessionAffinity({ messages: turn('Rome?', 3) })
    const c = sessionAffinity({ messages: [{ role: 'user', content: 'Paris?' }] })
    const d = sessionAffinity({
      messages: [
        { role: 'system', content: 'ab' },
        { role: 'user', content: 'c' },
      ],
    })
    const e = sessionAffinity({
      messages: [
        { role: 'system', content: 'a' },
        { role: 'user', content: 'bc' },
      ],
    })
    expect(new Set([a, b, c, d, e]).size).toBe(5)
  })

  it('gives 20,000 openings that differ by one word 20,000 different values', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 20_000; i++) {
      seen.add(sessionAffinity({ messages: [SYSTEM, { role: 'user', content: `Question ${i}?` }] }))
    }
    expect(seen.size).toBe(20_000)
  })

  it('reads a long message by its two 512-character ends and its length (bounded cost)', () => {
    const ask = (system: string) =>
      sessionAffinity({
        messages: [
          { role: 'system', content: system },
          { role: 'user', content: 'Hi' },
        ],
      })
    const base = `${'a'.repeat(2000)}${'b'.repeat(2000)}`
    expect(ask(`${'a'.repeat(2000)}X${'b'.repeat(1999)}`)).toBe(ask(base))
    expect(ask(`${base.slice(0, -1)}X`)).not.toBe(ask(base))
    expect(ask(`X${base.slice(1)}`)).not.toBe(ask(base))
    expect(ask(`${base}b`)).not.toBe(ask(base))
  })

  it('uses the conversation id the client gave, whatever the messages', () => {
    const a = sessionAffinity({ conversation: 'ag-ui:thread-1', messages: turn('Paris?', 1) })
    const b = sessionAffinity({ conversation: 'ag-ui:thread-1', messages: turn('Rome?', 4) })
    const other = sessionAffinity({ conversation: 'ag-ui:thread-2', messages: turn('Paris?', 1) })
    expect(a).toBe(b)
    expect(a).toBe('0b96934c563fec37')
    expect(other).not.toBe(a)
  })

  it('is 16 lower-case hex characters that carry neither the prompt nor the id', () => {
    const value = sessionAffinity({ messages: [{ role: 'user', content: 'abcdef' }] })
    expect(value).toMatch(/^[0-9a-f]{16}$/)
    expect(sessionAffinity({ conversation: 'ui:abcdef', messages: [] })).toMatch(/^[0-9a-f]{16}$/)
  })
})
