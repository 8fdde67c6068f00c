import { describe, expect, it } from 'vitest'
import type { AnswerEvent } from '../../../src/server/engine/answer-event'
import { EventQueue } from '../../../src/server/engine/event-queue'

const text = (delta: string): AnswerEvent => ({ type: 'text', text: delta })
const finish: AnswerEvent = { type: 'finish', reason: 'stop' }

describe('EventQueue', () => {
  it('hands over everything queued in one read, and asks its source only when empty', async () => {
    let fills = 0
    const queue = new EventQueue(() => {}, [text('a')])
    queue.push([text('b')])
    const fill = async () => {
      fills++
      queue.push([text('c')])
    }
    expect(await queue.read(fill)).toEqual([text('a'), text('b')])
    expect(fills).toBe(0)
    expect(await queue.read(fill)).toEqual([text('c')])
    expect(fills).toBe(1)
  })

  it('closes itself after the finish event and calls onClose once', async () => {
    let closes = 0
    const queue = new EventQueue(() => closes++, [text('a'), finish])
    expect(await queue.read(async () => {})).toEqual([text('a'), finish])
    expect(queue.closed).toBe(true)
    expect(await queue.read(async () => {})).toBeUndefined()
    queue.close()
    expect(closes).toBe(1)
  })

  it('returns what was queued before a failure, then rejects with it', async () => {
    const queue = new EventQueue(() => {})
    const failure = new Error('upstream gone')
    queue.push([text('kept')])
    queue.end(failure)
    queue.push([text('late')])
    expect(await queue.read(async () => {})).toEqual([text('kept')])
    await expect(queue.read(async () => {})).rejects.toBe(failure)
    expect(queue.closed).toBe(true)
  })

  it('ends without an error as undefined, and a closed queue reads nothing more', async () => {
    const ended = new EventQueue(() => {})
    ended.end()
    expect(await ended.read(async () => {})).toBeUndefined()
    const closed = new EventQueue(() => {}, [text('unread')])
    closed.close()
    expect(await closed.read(async () => {})).toBeUndefined()
  })
})
