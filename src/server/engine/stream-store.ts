import { APIError, ValidationError } from '../errors'
import type { AnswerEvent } from './answer-event'
import type { AnswerEncoding, LogState } from './answer-log'
import type { AnswerSource } from './answer-run'

/** What a reader on another instance needs before the first event. */
export interface StreamHead {
  /** The requested model (the answering one comes with the upstream's first event). */
  model: string
  /** A resumable answer's encoding (a resumed reader writes the original bytes); absent otherwise. */
  encoding?: AnswerEncoding
}

/** Who answers a streaming request: this instance, or the one already running the same answer. */
export type StreamClaim = { role: 'leader' } | { role: 'follower'; streamId: string }

/** Per answer written: how long it is kept, how big it may grow, what stops it. */
export interface PublishOptions {
  /** The cache key this instance leads (coalescing), if any: released when the answer fails. */
  key?: string
  /** Ms a finished log stays readable. */
  ttlMs: number
  /** Bytes of events written at most; past it the log ends with `resume_log_full`. */
  maxBytes: number
  /** Another instance asked to stop this answer (`DELETE ?stream=`). */
  onStop: () => void
  /** The conversation it answers (useChat's chat id), findable by `live` while it runs. */
  conversation?: string
}

/** The writing end of one answer's shared log, on the instance that runs it. Calls never throw. */
export interface StreamPublisher {
  /** The upstream opened with `model`. */
  opened(model: string): void
  append(events: AnswerEvent[]): void
  /** The answer is over; a failed or stopped answer frees its cache key at once. */
  end(state: Exclude<LogState, 'live'>, error?: APIError | ValidationError): void
  /** Whether readers on other instances read this answer now (best effort: false when unknown). */
  remoteReaders(): Promise<boolean>
  /**
   * Settles (never rejects) once the head is in the store or could not be written: a stream id
   * announced after it can be resumed on any instance, however soon the client comes back.
   */
  readonly written: Promise<void>
}

/** A reader of a shared log: `opened` settles when the upstream opened (or the answer failed). */
export interface SharedStream extends AnswerSource {
  readonly head: StreamHead | undefined
  readonly opened: Promise<void>
}

/**
 * Where streaming answers in flight are shared between instances (config `streams`): identical
 * requests on any instance follow one upstream call, and a resumable stream can be read and stopped
 * from any instance. Every method degrades: undefined/false means "not shared, act locally".
 */
export interface StreamStore {
  /** Leads `key` under `streamId`, or follows the stream already leading it; undefined: act locally. */
  claim(key: string, streamId: string): Promise<StreamClaim | undefined>
  /** Starts the shared log of an answer run here (written in order, in the background). */
  publish(streamId: string, head: StreamHead, options: PublishOptions): StreamPublisher
  /**
   * Reads a stream from its first event. `known`: the stream must exist already (a resume), else
   * undefined; without it, a stream about to be written is waited for (a follower of a claim).
   */
  read(
    streamId: string,
    options: { known: boolean; signal?: AbortSignal },
  ): Promise<SharedStream | undefined>
  /** Asks whichever instance runs the stream to stop it; false when the stream is unknown. */
  stop(streamId: string): Promise<boolean>
  /** The stream running for `conversation` on any instance (useChat's reconnect), if one is. */
  live(conversation: string): Promise<string | undefined>
}

/** The instance that ran the answer is gone (crashed, partitioned) before the answer finished. */
export function streamTruncated(): APIError {
  return new APIError(
    'The answer is incomplete: the instance that was streaming it stopped before it finished. Ask again.',
    { status: 502, type: 'upstream_error', code: 'stream_truncated' },
  )
}

/** The shared store failed while this answer was read from it. */
export function streamStoreFailed(cause: unknown): APIError {
  return new APIError('The answer could not be read from the shared stream store. Ask again.', {
    status: 502,
    type: 'upstream_error',
    code: 'stream_store_unavailable',
    cause,
  })
}

/** The answer outgrew its log (resume.maxBytes). */
export function logFull(maxBytes: number): APIError {
  return new APIError(`The answer outgrew the resume log (resume.maxBytes = ${maxBytes}).`, {
    status: 502,
    type: 'upstream_error',
    code: 'resume_log_full',
  })
}

/** The explicit stop (`DELETE ?stream=`), as every reader of the stream sees it. */
export function streamStopped(): APIError {
  return new APIError('The stream was stopped.', {
    status: 409,
    type: 'invalid_request_error',
    code: 'stream_stopped',
  })
}

/** An error as JSON, for readers on other instances. */
export interface StoredError {
  kind: 'validation' | 'api'
  message: string
  status: number
  code: string | null
  type?: string
  param?: string | null
  retryAfter?: number
}

export function storeError(error: APIError | ValidationError): StoredError {
  if (error instanceof ValidationError) {
    const { message, status, code, param } = error
    return { kind: 'validation', message, status, code, param }
  }
  const { message, status, code, type, retryAfter } = error
  return { kind: 'api', message, status, code, type, ...(retryAfter ? { retryAfter } : {}) }
}

export function loadError(stored: StoredError): APIError | ValidationError {
  if (stored.kind === 'validation') {
    return new ValidationError(stored.message, {
      status: stored.status,
      code: stored.code ?? 'invalid_request',
      param: stored.param ?? null,
    })
  }
  return new APIError(stored.message, {
    status: stored.status,
    type: (stored.type ?? 'upstream_error') as APIError['type'],
    code: stored.code,
    ...(stored.retryAfter !== undefined ? { retryAfter: stored.retryAfter } : {}),
  })
}
