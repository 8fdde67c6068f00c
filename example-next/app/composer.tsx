'use client'
import { type FormEvent, type KeyboardEvent, useRef } from 'react'
import styles from './chat.module.css'

export interface ComposerProps {
  value: string
  onChange: (value: string) => void
  onSend: (prompt: string) => void
  onStop: () => void
  streaming: boolean
}

export function Composer({ value, onChange, onSend, onStop, streaming }: ComposerProps) {
  const input = useRef<HTMLTextAreaElement>(null)
  const prompt = value.trim()

  function submit(event?: FormEvent) {
    event?.preventDefault()
    if (!prompt || streaming) return
    onSend(prompt)
    input.current?.focus()
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter sends, Shift+Enter adds a line; never while an IME is composing.
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) submit(event)
  }

  return (
    <form className={styles.composer} onSubmit={submit}>
      <label htmlFor="prompt" className={styles.srOnly}>
        Message
      </label>
      <textarea
        id="prompt"
        ref={input}
        className={styles.input}
        rows={1}
        placeholder="Ask something…"
        value={value}
        onChange={(event) => onChange(event.target.value)}
        onKeyDown={onKeyDown}
        // biome-ignore lint/a11y/noAutofocus: the page exists to type into this box
        autoFocus
      />
      {/* Distinct keys: React must not reuse the Stop button's DOM node for Send. A node that turns
          into a submit button while its click is dispatched submits the form (a second request). */}
      {streaming ? (
        <button key="stop" type="button" className={styles.stopButton} onClick={onStop}>
          <span className={styles.stopIcon} aria-hidden="true" />
          Stop
        </button>
      ) : (
        <button key="send" type="submit" className={styles.sendButton} disabled={!prompt}>
          Send
        </button>
      )}
    </form>
  )
}
