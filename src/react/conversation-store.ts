import {
  type CopilotStream,
  type ReconnectOptions,
  type ResumeTarget,
  streamCopilot,
} from 'copilotedge/client'
import type { ChatCompletionChunk, ChatMessage } from '../shared/chat-types'
import { type CancelFlush, type FlushScheduler, sharedFlushScheduler } from './schedule-flush'
import {
  canRemember,
  clearStreamRecord,
  loadStreamRecord,
  type StreamRecord,
  saveStreamRecord,
} from './stream-record'

/** `'reconnecting'`: a resumable stream lost its connection (or a reload left one) and is getting it back. */
export type CopilotStatus =
  | 'idle'
  | 'connecting'
  | 'streaming'
  | 'reconnecting'
  | 'done'
  | 'error'
  | 'aborted'

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
  /** How a resumable stream reconnects (see `streamCopilot`); `false` turns it off. */
  reconnect?: false | ReconnectOptions | undefined
}

export const DEFAULT_API = '/api/copilot'

interface Run {
  controller: AbortController
  stream: CopilotStream | undefined
  history: ChatMessage[]
  /** Text already flushed to the state. */
  text: string
  /** Deltas received since the last flush. */
  pending: string[]
  /** The event id of the last delta received (in `text` once `pending` is committed). */
  lastEventId: string | undefined
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
  /** The conversation `id` whose stream in flight is remembered for a resume; none: nothing is. */
  private readonly recordId: string | undefined
  /** Shared by every store of the page, so conversations streaming at once render in one pass. */
  private readonly scheduler: FlushScheduler

  constructor(
    initialMessages: ChatMessage[],
    options: { id?: string | undefined; scheduler?: FlushScheduler | undefined } = {},
  ) {
    this.state = idleState(initialMessages)
    this.recordId = options.id
    this.scheduler = options.scheduler ?? sharedFlushScheduler
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
      if (--this.holders === 0) this.leave()
    }
  }

  /**
   * Picks up the stream this conversation remembers (a reload or a remount left it running on the
   * server), after the current task: under StrictMode's mount → unmount → mount, one GET is sent.
   */
  resumeLater(options: () => RunOptions): void {
    queueMicrotask(() => {
      if (this.holders > 0) this.resume(options)
    })
  }

  /** Never rejects: resolves to the full text, or null when aborted or failed (then `error` is set). */
  send(input: SendInput, options: () => RunOptions): Promise<string | null> {
    this.stop() // keeps the partial reply of a stream in flight in the history
    const history: ChatMessage[] =
      typeof input === 'string'
        ? [...this.state.messages, { role: 'user', content: input }]
        : input.messages.slice()
    const run = this.begin(history, '', options)
    this.set({ messages: history, text: '', status: 'connecting', error: undefined })
    return this.start(run, { messages: history })
  }

  /** Resumes the remembered stream, unless one runs already. */
  private resume(options: () => RunOptions): void {
    if (this.run || this.recordId === undefined) return
    const record = loadStreamRecord(this.recordId)
    if (!record) return
    const run = this.begin(record.history, record.text, options)
    run.lastEventId = record.lastEventId
    this.set({
      messages: withReply(record.history, record.text),
      text: record.text,
      status: 'reconnecting',
      error: undefined,
    })
    void this.start(run, {
      resume: { streamId: record.streamId, lastEventId: record.lastEventId },
    })
  }

  private begin(history: ChatMessage[], text: string, options: () => RunOptions): Run {
    const run: Run = {
      controller: new AbortController(),
      stream: undefined,
      history,
      text,
      pending: [],
      lastEventId: undefined,
      cancelFlush: undefined,
      options,
    }
    this.run = run
    return run
  }

  /** Streams `run` (a POST of `messages`, or a GET of a stream to `resume`); never rejects. */
  private start(
    run: Run,
    target: { messages: ChatMessage[] } | { resume: ResumeTarget },
  ): Promise<string | null> {
    const settings = run.options()
    const common = {
      api: settings.api ?? DEFAULT_API,
      body: settings.body,
      headers: settings.headers,
      fetch: settings.fetch,
      reconnect: settings.reconnect,
      signal: run.controller.signal,
      onResponse: (response: Response) => {
        if (response.ok && this.run === run) {
          this.set({ ...this.state, status: 'streaming' })
          this.remember(run)
        }
        run.options().onResponse?.(response)
      },
      onReconnect: () => {
        if (this.run === run && this.state.status !== 'reconnecting') {
          this.set({ ...this.state, status: 'reconnecting' })
        }
      },
      onChunk: (delta: string, chunk: ChatCompletionChunk) => this.receive(run, delta, chunk),
    }
    const stream =
      'resume' in target
        ? streamCopilot({ ...common, resume: target.resume })
        : streamCopilot({ ...common, messages: target.messages })
    run.stream = stream

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

  /**
   * The last component let go. A stream this conversation can resume is only disconnected (the
   * server keeps it for a while; a remount or a reload picks it up); any other is stopped.
   */
  private leave(): void {
    const run = this.run
    const stream = run?.stream
    if (!run || !stream?.streamId || this.recordId === undefined || !canRemember()) {
      this.stop()
      return
    }
    commitPending(run)
    this.remember(run)
    stream.disconnect()
    this.finish(run, 'aborted', undefined, { keepRecord: true })
  }

  /** Writes the resume record of a resumable run: its text so far and the id of its last delta. */
  private remember(run: Run): void {
    const streamId = run.stream?.streamId
    if (this.recordId === undefined || streamId === undefined || this.run !== run) return
    const record: StreamRecord = {
      streamId,
      lastEventId: run.lastEventId,
      history: run.history,
      text: run.text,
    }
    saveStreamRecord(this.recordId, record)
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
    run.lastEventId = run.stream?.lastEventId
    const options = run.options()
    options.onChunk?.(delta, chunk)
    const bufferMs = options.bufferMs
    if (bufferMs !== undefined && bufferMs <= 0) this.flush(run)
    else
      run.cancelFlush ??= this.scheduler.schedule(() => {
        run.cancelFlush = undefined
        this.flush(run)
      }, bufferMs)
  }

  private flush(run: Run): void {
    if (this.run !== run || run.pending.length === 0) return
    commitPending(run)
    // Deltas read just before a connection dropped can flush while it reconnects: keep saying so.
    const status = this.state.status === 'reconnecting' ? 'reconnecting' : 'streaming'
    this.set({
      messages: withReply(run.history, run.text),
      text: run.text,
      status,
      error: undefined,
    })
    this.remember(run)
  }

  /** Publishes a terminal state at once. False when `run` was already finished. */
  private finish(
    run: Run,
    status: CopilotStatus,
    error: Error | undefined,
    { keepRecord = false } = {},
  ): boolean {
    if (this.run !== run) return false
    this.run = undefined
    if (!keepRecord && this.recordId !== undefined && run.stream?.streamId !== undefined) {
      clearStreamRecord(this.recordId)
    }
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
