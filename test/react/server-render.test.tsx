// @vitest-environment node
import { renderToString } from 'react-dom/server'
import { describe, expect, it } from 'vitest'
import { useCopilotStream } from '../../src/react'
import type { ChatMessage } from '../../src/shared/chat-types'

function Chat({ initialMessages }: { initialMessages: ChatMessage[] }) {
  const { messages, status } = useCopilotStream({ id: 'support', initialMessages })
  return (
    <p>
      {status}: {messages.map((m) => m.content).join(' | ')}
    </p>
  )
}

describe('useCopilotStream in a server render', () => {
  it('renders the initial messages without touching window, document or fetch', () => {
    expect(typeof window).toBe('undefined')
    const html = renderToString(<Chat initialMessages={[{ role: 'user', content: 'Hi' }]} />)
    expect(html).toContain('idle')
    expect(html).toContain('Hi')
  })

  it('never shares a conversation id between two requests rendered by one server', () => {
    const first = renderToString(
      <Chat initialMessages={[{ role: 'user', content: 'Alice history' }]} />,
    )
    const second = renderToString(
      <Chat initialMessages={[{ role: 'user', content: 'Bob history' }]} />,
    )
    expect(first).toContain('Alice history')
    expect(second).toContain('Bob history')
    expect(second).not.toContain('Alice')
  })
})
