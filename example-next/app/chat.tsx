'use client'
import type { ChatMessage } from 'copilotedge/react'
import { useCopilotStream } from 'copilotedge/react'
import { useEffect, useRef, useState } from 'react'
import styles from './chat.module.css'
import { Composer } from './composer'
import { ErrorNotice } from './error-notice'
import { statusLabel } from './format'
import { Message } from './message'
import type { TurnStats } from './turn-stats'

const CONVERSATION_ID = 'example-chat'

const SUGGESTIONS = [
  'What are Server-Sent Events?',
  'Explain Cloudflare Workers AI in one paragraph.',
  'Write a haiku about streaming tokens.',
]

/** The running answer: which message it will be, and when Send was pressed. */
interface Turn {
  index: number
  startedAt: number
  gotFirstToken: boolean
}

function textOf(message: ChatMessage): string {
  if (typeof message.content === 'string') return message.content
  if (!message.content) return ''
  return message.content.map((part) => (part.type === 'text' ? part.text : '')).join('')
}

export function Chat() {
  const [draft, setDraft] = useState('')
  const [stats, setStats] = useState<Record<number, TurnStats>>({})
  const turn = useRef<Turn | null>(null)
  const logEnd = useRef<HTMLDivElement>(null)

  function updateStats(index: number, patch: TurnStats) {
    setStats((all) => ({ ...all, [index]: { ...all[index], ...patch } }))
  }

  const { messages, text, status, error, send, stop, reset, isStreaming } = useCopilotStream({
    api: '/api/copilot',
    // A stable conversation id: the hook remembers the answer in flight (sessionStorage) and, after
    // a reload, shows the partial answer and continues it with one GET (status 'reconnecting').
    id: CONVERSATION_ID,
    onResponse(response) {
      const current = turn.current
      if (current) updateStats(current.index, { cached: response.headers.get('x-cache') === 'HIT' })
    },
    onChunk(_delta, chunk) {
      const current = turn.current
      if (!current || current.gotFirstToken) return
      current.gotFirstToken = true
      updateStats(current.index, {
        ttftMs: performance.now() - current.startedAt,
        model: chunk.model,
      })
    },
  })

  async function ask(request: string | { messages: ChatMessage[] }) {
    const base = typeof request === 'string' ? messages.length + 1 : request.messages.length
    const current: Turn = { index: base, startedAt: performance.now(), gotFirstToken: false }
    turn.current = current
    setStats((all) => ({ ...all, [current.index]: {} }))
    const answer = await send(request)
    if (turn.current !== current) return
    turn.current = null
    // null: stopped (onStop marked it) or failed (the error notice says so).
    if (answer !== null) {
      updateStats(current.index, {
        totalMs: performance.now() - current.startedAt,
        outcome: 'done',
      })
    }
  }

  function onSend(prompt: string) {
    setDraft('')
    void ask(prompt)
  }

  function onStop() {
    const current = turn.current
    stop()
    if (current) updateStats(current.index, { outcome: 'aborted' })
    // An answer resumed after a reload has no turn on this page: mark the answer being shown.
    else if (messages.at(-1)?.role === 'assistant') {
      updateStats(messages.length - 1, { outcome: 'aborted' })
    }
  }

  function onRetry() {
    // Resend the conversation up to the last question, dropping any partial answer.
    const lastUser = messages.findLastIndex((m) => m.role === 'user')
    if (lastUser >= 0) void ask({ messages: messages.slice(0, lastUser + 1) })
  }

  function onNewChat() {
    turn.current = null
    reset()
    setStats({})
  }

  const streaming = isStreaming || status === 'connecting'
  const shown = messages.filter((m) => m.role === 'user' || m.role === 'assistant')
  // Until its first token the answer in progress is not in `messages` yet: show a placeholder.
  const last = shown.at(-1)
  const pending = streaming && last?.role !== 'assistant'

  // Keep the newest words in view while they arrive.
  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll on every new token
  useEffect(() => {
    logEnd.current?.scrollIntoView({ block: 'end' })
  }, [text, shown.length])

  return (
    <section className={styles.chat} aria-label="Chat">
      <div className={styles.toolbar}>
        <h1 className={styles.title}>Chat</h1>
        <p className={styles.status} aria-live="polite" data-testid="status" data-status={status}>
          {statusLabel(status)}
        </p>
        <button
          type="button"
          className={styles.ghostButton}
          onClick={onNewChat}
          disabled={messages.length === 0}
        >
          New chat
        </button>
      </div>

      <div className={styles.log}>
        {shown.length === 0 && !pending ? (
          <div className={styles.empty}>
            <p className={styles.emptyTitle}>Ask anything</p>
            <p className={styles.emptyText}>
              Answers stream token by token from <code>/api/copilot</code>. Ask the same question in
              a new chat to get it from the cache.
            </p>
            <ul className={styles.suggestions}>
              {SUGGESTIONS.map((suggestion) => (
                <li key={suggestion}>
                  <button
                    type="button"
                    className={styles.suggestion}
                    onClick={() => void ask(suggestion)}
                  >
                    {suggestion}
                  </button>
                </li>
              ))}
            </ul>
          </div>
        ) : (
          <ol className={styles.messages} aria-label="Conversation" aria-busy={streaming}>
            {shown.map((message, i) => {
              const index = messages.indexOf(message)
              const isLive = streaming && i === shown.length - 1 && message.role === 'assistant'
              return (
                <Message
                  key={index}
                  author={message.role === 'user' ? 'user' : 'assistant'}
                  content={textOf(message)}
                  streaming={isLive}
                  stats={stats[index]}
                />
              )
            })}
            {pending ? (
              <Message
                author="assistant"
                content=""
                streaming
                stats={turn.current ? stats[turn.current.index] : undefined}
              />
            ) : null}
          </ol>
        )}
        <div ref={logEnd} />
      </div>

      {/* Above the composer, outside the scrolling log: an error is never below the fold. */}
      {error && !streaming ? <ErrorNotice error={error} onRetry={onRetry} /> : null}

      <Composer
        value={draft}
        onChange={setDraft}
        onSend={onSend}
        onStop={onStop}
        streaming={streaming}
      />
    </section>
  )
}
