import { LRUCache } from 'lru-cache'
import type { Clock } from '../clock'
import type { AnswerEncoding, ResumableLog } from './answer-log'
import { AnswerLog } from './answer-log'
import type { AnswerSource } from './answer-run'
import type { StreamStore } from './stream-store'

/** Config `resume`: `true` for these defaults, or some of them. */
export interface ResumeConfig {
  /** Ms an answer keeps running after its last reader disconnected. Default 30_000. */
  graceMs?: number
  /** Ms a finished answer can still be replayed. Default 300_000 (5 minutes). */
  ttlMs?: number
  /** Bytes of events kept per answer; a longer answer is aborted. Default 8 MiB. */
  maxBytes?: number
  /** Answers kept at once (the least recently used beyond it are dropped). Default 1000. */
  maxStreams?: number
}

/** Ms a resume from another instance waits for the shared log's first read before pinging. */
const REMOTE_OPEN_WAIT_MS = 1_000

export type ResolvedResumeConfig = Required<ResumeConfig>

export function resolveResume(
  resume: boolean | ResumeConfig | undefined,
): ResolvedResumeConfig | false {
  if (!resume) return false
  const given = resume === true ? {} : resume
  return {
    graceMs: given.graceMs ?? 30_000,
    ttlMs: given.ttlMs ?? 300_000,
    maxBytes: given.maxBytes ?? 8 * 1024 * 1024,
    maxStreams: given.maxStreams ?? 1000,
  }
}

/**
 * What another instance needs to encode the answer: the request's options, not the conversation
 * (encoders never read the messages, and the prompt has no business in the shared store).
 */
function withoutPrompt(encoding: AnswerEncoding): AnswerEncoding {
  const { decoded } = encoding
  return { ...encoding, decoded: { ...decoded, request: { ...decoded.request, messages: [] } } }
}

/**
 * The answers that can be resumed on this instance, by stream id: live ones (however many readers)
 * and finished ones until `ttlMs` passed. An id that expired is remembered (bounded) so that a late
 * reconnect gets a truthful 410 instead of a 404.
 */
export class ResumeRegistry {
  readonly #config: ResolvedResumeConfig
  readonly #clock: Clock
  /** The config's `idleTimeoutMs`, for readers on workerd (see isolated-requests). */
  readonly #idleTimeoutMs: number
  readonly #logs: LRUCache<string, ResumableLog>
  readonly #expired: LRUCache<string, true>
  /** A conversation's latest stream id (useChat finds its stream again by the chat id). */
  readonly #byConversation: LRUCache<string, string>
  /** Where streams are shared with other instances (config `streams`), if anywhere. */
  readonly #streams: StreamStore | undefined

  constructor(
    config: ResolvedResumeConfig,
    clock: Clock,
    streams?: StreamStore,
    idleTimeoutMs = 0,
  ) {
    this.#config = config
    this.#clock = clock
    this.#idleTimeoutMs = idleTimeoutMs
    this.#streams = streams
    this.#expired = new LRUCache({ max: config.maxStreams })
    this.#byConversation = new LRUCache({ max: config.maxStreams })
    this.#logs = new LRUCache({
      max: config.maxStreams,
      // Ours, not lru-cache's timers: the injectable clock decides (tests use fake time).
      ttlAutopurge: false,
      perf: { now: () => clock.now() },
      dispose: (log, id, reason) => {
        if (reason === 'delete' || reason === 'set') return
        // Evicted (too many) or expired: a live answer nobody can reach any more is stopped.
        log.stop()
        this.#expired.set(id, true)
      },
    })
  }

  /**
   * Keeps an answer under a new stream id: once `opening` resolves, the run is read to its end
   * whether or not anybody reads it (see AnswerLog for the grace period). `onEnd` runs once it
   * ended, however.
   */
  open(
    opening: Promise<AnswerSource>,
    model: string,
    encoding: AnswerEncoding,
    conversation?: string,
    onEnd?: () => void,
  ): { id: string; log: ResumableLog; written: Promise<void> } {
    const id = crypto.randomUUID()
    const { ttlMs, maxBytes } = this.#config
    // Shared: another instance can resume it (its events go to the store as they come) or stop it.
    const mirror = this.#streams?.publish(
      id,
      { model, encoding: withoutPrompt(encoding) },
      { ttlMs, maxBytes, onStop: () => log.stop(), conversation },
    )
    const log = new AnswerLog(opening, model, encoding, {
      clock: this.#clock,
      idleTimeoutMs: this.#idleTimeoutMs,
      graceMs: this.#config.graceMs,
      maxBytes,
      mirror,
      keepAlive: mirror && (() => mirror.remoteReaders()),
      // Finished answers stay replayable for ttlMs from their end.
      onEnd: () => {
        if (this.#logs.peek(id) === log) this.#logs.set(id, log, { ttl: this.#config.ttlMs })
        onEnd?.()
      },
    }) as ResumableLog
    this.#logs.set(id, log)
    if (conversation !== undefined) this.#byConversation.set(conversation, id)
    return { id, log, written: mirror?.written ?? Promise.resolve() }
  }

  /** The live answer of a conversation, here or on another instance (config `streams`), if any. */
  async live(conversation: string): Promise<ResumableLog | undefined> {
    const id = this.#byConversation.get(conversation)
    const log = id === undefined ? undefined : this.#logs.get(id)
    if (log?.state === 'live') return log
    const elsewhere = await this.#streams?.live(conversation)
    if (elsewhere === undefined || elsewhere === id) return undefined
    const found = await this.find(elsewhere)
    return typeof found === 'object' && found.state === 'live' ? found : undefined
  }

  /** The log, `'expired'` when it existed and is gone, undefined when never known here. */
  get(id: string): ResumableLog | 'expired' | undefined {
    const log = this.#logs.get(id)
    if (log) return log
    return this.#expired.has(id) ? 'expired' : undefined
  }

  /**
   * The log here, else the one another instance shares (config `streams`): read from the store
   * from its first event, for this reader alone (it stops reading when its reader leaves).
   */
  async find(id: string): Promise<ResumableLog | 'expired' | undefined> {
    const here = this.get(id)
    if (here !== undefined || !this.#streams) return here
    const shared = await this.#streams.read(id, { known: true })
    const encoding = shared?.head?.encoding
    if (!shared || !encoding) {
      shared?.abort()
      return undefined
    }
    const log = new AnswerLog(
      shared.opened.then(() => shared),
      shared.head?.model ?? shared.model,
      encoding,
      {
        clock: this.#clock,
        idleTimeoutMs: this.#idleTimeoutMs,
        graceMs: 0,
        maxBytes: this.#config.maxBytes,
      },
    ) as ResumableLog
    // Its first read is a Redis round trip: wait for it (briefly), so the response starts with the
    // answer's bytes as the original would, not with a ping.
    let timer: unknown
    await Promise.race([
      log.opened.catch(() => {}),
      new Promise((resolve) => {
        timer = this.#clock.setTimeout(() => resolve(undefined), REMOTE_OPEN_WAIT_MS)
      }),
    ])
    this.#clock.clearTimeout(timer)
    return log
  }

  /** Stops the stream here, or asks the instance that runs it; false when unknown anywhere. */
  async stop(id: string): Promise<boolean> {
    const here = this.#logs.get(id)
    if (here) {
      here.stop()
      return true
    }
    return (await this.#streams?.stop(id)) ?? false
  }
}
