'use client'
import {
  useCallback,
  useEffect,
  useInsertionEffect,
  useRef,
  useState,
  useSyncExternalStore,
} from 'react'
import { useSWRConfig } from 'swr'
import type { ChatMessage } from '../shared/chat-types'
import {
  ConversationStore,
  type CopilotStatus,
  type RunOptions,
  type SendInput,
} from './conversation-store'
import { sharedConversation } from './shared-conversation'

export interface UseCopilotStreamOptions extends RunOptions {
  /** The endpoint. Default `/api/copilot`. */
  api?: string | URL | undefined
  /**
   * Components using the same `id` share one conversation (messages, text, status, error). With an
   * `id`, a resumable stream in flight is remembered in sessionStorage and resumed on the next mount
   * (after a page reload too).
   */
  id?: string | undefined
  /** The history to start from (for a shared `id`: used by the first component that mounts). */
  initialMessages?: ChatMessage[] | undefined
  /**
   * Longest wait, in ms, before streamed text reaches the state. Default: once per animation frame
   * (a 16 ms timeout where requestAnimationFrame is missing). `0` renders every chunk. Every hook
   * of the page flushes on the same tick, so several conversations streaming at once render together.
   */
  bufferMs?: number | undefined
}

export interface UseCopilotStreamResult {
  messages: ChatMessage[]
  text: string
  status: CopilotStatus
  error: Error | undefined
  /** Never rejects: the full text, or null when aborted or failed. Aborts a stream in flight first. */
  send: (input: SendInput) => Promise<string | null>
  /** Aborts the stream in flight; partial text is kept and the status becomes `'aborted'`. */
  stop: () => void
  /** Aborts, then goes back to `initialMessages` and `'idle'`. */
  reset: () => void
  /** `status` is `'connecting'`, `'streaming'` or `'reconnecting'`. */
  isStreaming: boolean
}

export function useCopilotStream(options: UseCopilotStreamOptions = {}): UseCopilotStreamResult {
  // Latest options and callbacks through a ref: a send in flight always calls the newest ones.
  const latest = useRef(options)
  useInsertionEffect(() => {
    latest.current = options
  })
  const getOptions = useCallback((): RunOptions => latest.current, [])

  const { cache } = useSWRConfig()
  const [ownStore] = useState(() => new ConversationStore(options.initialMessages ?? []))
  // On the server the SWR cache can be one module-level Map shared by every request: a shared store
  // there would leak one user's conversation into another's page. Server renders use their own.
  const store =
    options.id === undefined || typeof window === 'undefined'
      ? ownStore
      : sharedConversation(cache, options.id, options.initialMessages)

  const state = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot)
  // Unmount (of the last component watching this conversation) aborts its stream (or, when it can be
  // resumed, only disconnects it). Mount resumes the stream this conversation remembers, if any.
  useEffect(() => {
    const release = store.retain()
    store.resumeLater(getOptions)
    return release
  }, [store, getOptions])

  const send = useCallback((input: SendInput) => store.send(input, getOptions), [store, getOptions])
  const stop = useCallback(() => store.stop(), [store])
  const reset = useCallback(() => store.reset(latest.current.initialMessages ?? []), [store])

  return {
    messages: state.messages,
    text: state.text,
    status: state.status,
    error: state.error,
    send,
    stop,
    reset,
    isStreaming:
      state.status === 'connecting' ||
      state.status === 'streaming' ||
      state.status === 'reconnecting',
  }
}
