import { streamCopilot } from '../client/stream-copilot'
import type { ChatCompletionChunk, ChatMessage } from '../shared/chat-types'
import { type CancelFlush, scheduleFlush } from './schedule-flush'

export type CopilotStatus = 'idle' | 'connecting' | 'streaming' | 'done' | 'error' | 'aborted'

/** What a component sees. A new object only when something changed (a flush or a status change). */
export interface ConversationState {
  messages: ChatMessage[]
  /** The assistant reply being streamed (or the last one). */
  text: string
  status: CopilotStatus
  error: Error | undefined
}

/** A string appends one user message; `{ messages }` sends exactly those, replacing the history. */
export type SendInput = string | { messages: ChatMessage[] }

/** Read through a getter at each use, so the latest options are always the ones applied. */
export interface RunOptions {
  api?: string | URL | undefined
  body?: Record<string, unknown> | undefined
  headers?: HeadersInit | undefined
  fetch?: typeof fetch | undefined
  bufferMs?: number | undefined
  onChunk?: ((delta: string, chunk: ChatCompletionChunk) => void) | undefined
  onFinish?: ((text: string, messages: ChatMessage[]) => void) | undefined
  onError?: ((error: Error) => void) | undefined
  onResponse?: ((response: Response) => void) | undefined
}

export const DEFAULT_API = '/api/copilot'

interface Run {
  controller: AbortController
  history: ChatMessage[]
  /** Text already flushed to the state. */
  text: string
  /** Deltas received since the last flush. */
  pending: string[]
  cancelFlush: CancelFlush | undefined
  options: () => RunOptions
}

/**
 * One conversation: its state, the stream in flight, and the components watching it. Renders happen
 * only when `set` publishes a new state object (through useSyncExternalStore), so buffered flushes and
 * status changes are the only renders.
 */
export class ConversationStore {
  private state: ConversationState
  private readonly listeners = new Set<() => void>()
  private run: Run | undefined
  private holders = 0

  constructor(initialMessages: ChatMessage[]) {
    this.state = idleState(initialMessages)
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => {
      this.listeners.delete(listener)
    }
  }

  readonly getSnapshot = (): ConversationState => this.state

  /** Marks one mounted component; when the last one lets go, the stream in flight is aborted. */
  retain(): () => void {
    this.holders++
    let released = false
    return () => {
      if (released) return
      released = true
      if (--this.holders === 0) this.stop()
    }
  }

  /** Never rejects: resolves to the full text, or null when aborted or failed (then `error` is set). */
  send(input: SendInput, options: () => RunOptions): Promise<string | null> {
    this.stop() // keeps the partial reply of a stream in flight in the history
    const history: ChatMessage[] =
      typeof input === 'string'
        ? [...this.state.messages, { role: 'user', content: input }]
        : input.messages.slice()
    const run: Run = {
      controller: new AbortController(),
      history,
      text: '',
      pending: [],
      cancelFlush: undefined,
      options,
    }
    this.run = run
    this.set({ messages: history, text: '', status: 'connecting', error: undefined })

    const settings = options()
    const stream = streamCopilot({
      api: settings.api ?? DEFAULT_API,
      messages: history,
      body: settings.body,
      headers: settings.headers,
      fetch: settings.fetch,
      signal: run.controller.signal,
      onResponse: (response) => {
        if (response.ok && this.run === run) this.set({ ...this.state, status: 'streaming' })
        run.options().onResponse?.(response)
      },
      onChunk: (delta, chunk) => this.receive(run, delta, chunk),
    })

    return stream.getFullResponse().then(
      (text) => {
        if (run.controller.signal.aborted) {
          this.finish(run, 'aborted', undefined)
          return null
        }
        if (this.finish(run, 'done', undefined)) {
          const { onFinish } = run.options()
          if (onFinish) guard(() => onFinish(text, this.state.messages))
        }
        return text
      },
      (reason: unknown) => {
        if (run.controller.signal.aborted) {
          this.finish(run, 'aborted', undefined)
          return null
        }
        const error = reason instanceof Error ? reason : new Error(String(reason))
        if (this.finish(run, 'error', error)) {
          const { onError } = run.options()
          if (onError) guard(() => onError(error))
        }
        return null
      },
    )
  }

  /** Aborts the stream in flight (the server then aborts upstream); partial text is kept. */
  stop(): void {
    const run = this.run
    if (!run) return
    run.controller.abort()
    this.finish(run, 'aborted', undefined)
  }

  reset(initialMessages: ChatMessage[]): void {
    this.stop()
    this.set(idleState(initialMessages))
  }

  /** What a persisting SWR cache provider (e.g. one backed by localStorage) stores. */
  toJSON(): { messages: ChatMessage[] } {
    return { messages: this.state.messages }
  }

  // Hot path, once per delta: push to an array, call onChunk, and schedule at most one flush.
  private receive(run: Run, delta: string, chunk: ChatCompletionChunk): void {
    if (this.run !== run) return
    run.pending.push(delta)
    const options = run.options()
    options.onChunk?.(delta, chunk)
    const bufferMs = options.bufferMs
    if (bufferMs !== undefined && bufferMs <= 0) this.flush(run)
    else
      run.cancelFlush ??= scheduleFlush(() => {
        run.cancelFlush = undefined
        this.flush(run)
      }, bufferMs)
  }

  private flush(run: Run): void {
    if (this.run !== run || run.pending.length === 0) return
    commitPending(run)
    this.set({
      messages: withReply(run.history, run.text),
      text: run.text,
      status: 'streaming',
      error: undefined,
    })
  }

  /** Publishes a terminal state at once. False when `run` was already finished. */
  private finish(run: Run, status: CopilotStatus, error: Error | undefined): boolean {
    if (this.run !== run) return false
    this.run = undefined
    run.cancelFlush?.()
    run.cancelFlush = undefined
    commitPending(run)
    this.set({ messages: withReply(run.history, run.text), text: run.text, status, error })
    return true
  }

  private set(state: ConversationState): void {
    this.state = state
    for (const listener of this.listeners) listener()
  }
}

function commitPending(run: Run): void {
  if (run.pending.length === 0) return
  // `+=` on a string makes a rope in JS engines (no copy of what came before); joining only the deltas
  // since the last flush keeps the total work linear in the length of the reply.
  run.text += run.pending.length === 1 ? (run.pending[0] as string) : run.pending.join('')
  run.pending.length = 0
}

function withReply(history: ChatMessage[], text: string): ChatMessage[] {
  return text ? [...history, { role: 'assistant', content: text }] : history
}

function idleState(messages: ChatMessage[]): ConversationState {
  return { messages, text: '', status: 'idle', error: undefined }
}

/** A throwing user callback must not make `send` reject: report it the way event listeners are. */
function guard(callback: () => void): void {
  try {
    callback()
  } catch (error) {
    if (typeof globalThis.reportError === 'function') globalThis.reportError(error)
    else
      setTimeout(() => {
        throw error
      })
  }
}
