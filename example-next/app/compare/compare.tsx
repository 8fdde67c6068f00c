'use client'
import type { ChatMessage, SendInput } from 'copilotedge/react'
import { useCopilotStream } from 'copilotedge/react'
import { useRef, useState } from 'react'
import chatStyles from '../chat.module.css'
import { Composer } from '../composer'
import { ErrorNotice } from '../error-notice'
import { statusLabel } from '../format'
import { Message } from '../message'
import { MODELS } from '../models'
import type { TurnStats } from '../turn-stats'
import styles from './compare.module.css'

function textOf(message: ChatMessage): string {
  if (typeof message.content === 'string') return message.content
  if (!message.content) return ''
  return message.content.map((part) => (part.type === 'text' ? part.text : '')).join('')
}

/**
 * One model's conversation: its own `useCopilotStream` (the model goes in the request body; the
 * route's `models` allows both) and the timings of its latest answer. Every pane of the page
 * flushes its text on the same animation frame, so two streams cost one render per frame.
 */
function useModelPane(model: string) {
  const [stats, setStats] = useState<TurnStats>({})
  const turn = useRef<{ startedAt: number; gotFirstToken: boolean } | null>(null)
  const chat = useCopilotStream({
    api: '/api/copilot',
    body: { model },
    onResponse(response) {
      setStats((s) => ({ ...s, cached: response.headers.get('x-cache') === 'HIT' }))
    },
    onChunk(_delta, chunk) {
      const current = turn.current
      if (!current || current.gotFirstToken) return
      current.gotFirstToken = true
      setStats((s) => ({ ...s, ttftMs: performance.now() - current.startedAt, model: chunk.model }))
    },
  })

  async function ask(request: SendInput) {
    const current = { startedAt: performance.now(), gotFirstToken: false }
    turn.current = current
    setStats({})
    const answer = await chat.send(request)
    if (turn.current !== current) return
    turn.current = null
    if (answer !== null) {
      setStats((s) => ({ ...s, totalMs: performance.now() - current.startedAt, outcome: 'done' }))
    }
  }

  function stop() {
    if (!chat.isStreaming) return
    turn.current = null
    chat.stop()
    setStats((s) => ({ ...s, outcome: 'aborted' }))
  }

  function clear() {
    turn.current = null
    chat.reset()
    setStats({})
  }

  return { model, chat, stats, ask, stop, clear }
}

type Pane = ReturnType<typeof useModelPane>

export function Compare() {
  const [draft, setDraft] = useState('')
  const first = useModelPane(MODELS[0])
  const second = useModelPane(MODELS[1])
  const panes = [first, second]
  const streaming = panes.some((pane) => pane.chat.isStreaming)

  function onSend(question: string) {
    setDraft('')
    for (const pane of panes) void pane.ask(question)
  }

  return (
    <section className={styles.compare} aria-label="Two models side by side">
      <div className={styles.panes}>
        {panes.map((pane) => (
          <ModelPane key={pane.model} pane={pane} />
        ))}
      </div>
      <div className={styles.composer}>
        <Composer
          value={draft}
          onChange={setDraft}
          onSend={onSend}
          onStop={() => {
            for (const pane of panes) pane.stop()
          }}
          streaming={streaming}
        />
      </div>
    </section>
  )
}

function ModelPane({ pane }: { pane: Pane }) {
  const { chat, stats, model } = pane
  const shown = chat.messages.filter((m) => m.role === 'user' || m.role === 'assistant')
  const last = shown.at(-1)
  const pending = chat.isStreaming && last?.role !== 'assistant'
  return (
    <section className={`${chatStyles.chat} ${styles.pane}`} aria-label={model}>
      <div className={chatStyles.toolbar}>
        <h2 className={`${chatStyles.title} ${styles.model}`}>{model}</h2>
        <p
          className={chatStyles.status}
          aria-live="polite"
          data-testid="pane-status"
          data-status={chat.status}
        >
          {statusLabel(chat.status)}
        </p>
        <button
          type="button"
          className={chatStyles.ghostButton}
          onClick={pane.clear}
          disabled={chat.messages.length === 0}
        >
          Clear
        </button>
      </div>
      <div className={chatStyles.log}>
        {shown.length === 0 && !pending ? (
          <p className={styles.empty}>Ask a question below: both models answer it at once.</p>
        ) : (
          <ol
            className={chatStyles.messages}
            aria-label="Conversation"
            aria-busy={chat.isStreaming}
          >
            {shown.map((message, i) => {
              const isLast = i === shown.length - 1
              return (
                <Message
                  // biome-ignore lint/suspicious/noArrayIndexKey: messages are only ever appended
                  key={i}
                  author={message.role === 'user' ? 'user' : 'assistant'}
                  content={textOf(message)}
                  streaming={chat.isStreaming && isLast && message.role === 'assistant'}
                  stats={isLast && message.role === 'assistant' ? stats : undefined}
                />
              )
            })}
            {pending ? <Message author="assistant" content="" streaming stats={stats} /> : null}
          </ol>
        )}
      </div>
      {chat.error && !chat.isStreaming ? (
        <ErrorNotice error={chat.error} onRetry={() => retry(pane)} />
      ) : null}
    </section>
  )
}

/** Resends this pane's conversation up to its last question, dropping any partial answer. */
function retry(pane: Pane) {
  const { messages } = pane.chat
  const lastUser = messages.findLastIndex((m) => m.role === 'user')
  if (lastUser >= 0) void pane.ask({ messages: messages.slice(0, lastUser + 1) })
}
