import type { Clock } from '../../clock'
import type { AnswerEvent } from '../../engine/answer-event'
import { EventQueue } from '../../engine/event-queue'
import type { SharedStream, StoredError, StreamHead } from '../../engine/stream-store'
import {
  loadError,
  streamStopped,
  streamStoreFailed,
  streamTruncated,
} from '../../engine/stream-store'
import type { APIError, ValidationError } from '../../errors'
import type { RedisCommand } from './redis-client'
import type { BlockingConnections } from './redis-connections'
import type { StreamKeys } from './redis-stream-keys'

export interface ReaderContext {
  send: RedisCommand
  blocking: BlockingConnections
  keys: StreamKeys
  leaseMs: number
  /** Longest single blocking read; the lease is checked after each empty one. */
  blockMs: number
  clock: Pick<Clock, 'now'>
}

type Entry = [id: string, fields: string[]]

/** XREAD's reply (RESP2 arrays, or RESP3 maps) as the entries of its one stream. */
function entriesOf(reply: unknown): Entry[] {
  if (reply === null || reply === undefined) return []
  const streams: unknown[] =
    reply instanceof Map
      ? [...reply.entries()]
      : Array.isArray(reply)
        ? reply
        : Object.entries(reply as object)
  const first = streams[0] as [unknown, unknown] | undefined
  const entries = (first?.[1] ?? []) as Array<[unknown, unknown]>
  return entries.map(([id, fields]) => [
    String(id),
    (fields instanceof Map
      ? [...fields.entries()].flat()
      : Array.isArray(fields)
        ? fields
        : Object.entries(fields as object).flat()
    ).map(String),
  ])
}

function field(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1]
  return undefined
}

/**
 * Reads one answer's shared log from its first entry, as an `AnswerSource`: the events as the
 * leader wrote them (one entry per batch), then the end with its final state. Tailing blocks on a
 * connection of its own (`XREAD BLOCK`); after each read that brought nothing it checks the
 * leader's lease, so a leader that died ends the read with `stream_truncated` instead of a hang.
 * While it reads, it counts as a reader of the answer (its leader keeps the answer running).
 */
export class RedisStreamReader implements SharedStream {
  head: StreamHead | undefined
  model: string
  readonly opened: Promise<void>
  readonly #context: ReaderContext
  readonly #streamId: string
  readonly #stream: string
  readonly #readerId = crypto.randomUUID()
  #last = '0-0'
  readonly #queue = new EventQueue(() => this.#leave())
  #open = false
  #membershipAt = Number.NEGATIVE_INFINITY
  readonly #since: number
  #fetching: Promise<void> | undefined
  #resolveOpened!: () => void
  #rejectOpened!: (error: unknown) => void

  constructor(context: ReaderContext, streamId: string, model: string, signal?: AbortSignal) {
    this.#context = context
    this.#streamId = streamId
    this.#stream = context.keys.stream(streamId)
    this.#since = context.clock.now()
    this.model = model
    this.opened = new Promise<void>((resolve, reject) => {
      this.#resolveOpened = resolve
      this.#rejectOpened = reject
    })
    // Nobody may be waiting for it yet; the rejection is handled where it is awaited.
    this.opened.catch(() => {})
    if (signal?.aborted) this.#abortOpening(signal.reason)
    else signal?.addEventListener('abort', () => this.#abortOpening(signal.reason), { once: true })
  }

  get closed(): boolean {
    return this.#queue.closed
  }

  /** Reads until the upstream opened (or the answer ended, or the reader was aborted). */
  async start(): Promise<this> {
    while (!this.#open && !this.#queue.ended && !this.#queue.closed) {
      try {
        await this.#fetch()
      } catch (error) {
        this.#finish(error as APIError)
      }
    }
    if (!this.#open) this.#rejectOpened(this.#queue.error ?? streamTruncated())
    return this
  }

  read(): Promise<AnswerEvent[] | undefined> {
    return this.#queue.read(this.#fetch)
  }

  abort(): void {
    this.#abortOpening(undefined)
  }

  #abortOpening(reason: unknown): void {
    if (!this.#open) this.#rejectOpened(reason ?? streamStopped())
    this.#queue.close()
  }

  /** One read, shared by whoever waits (start and read never overlap theirs). */
  readonly #fetch = (): Promise<void> => {
    this.#fetching ??= this.#fetchOnce().finally(() => {
      this.#fetching = undefined
    })
    return this.#fetching
  }

  async #fetchOnce(): Promise<void> {
    const { blocking, blockMs, send } = this.#context
    this.#member()
    const connection = await blocking.acquire().catch((error: unknown) => {
      throw streamStoreFailed(error)
    })
    let reply: unknown
    try {
      reply = await connection.send([
        'XREAD',
        'COUNT',
        '256',
        'BLOCK',
        String(blockMs),
        'STREAMS',
        this.#stream,
        this.#last,
      ])
    } catch (error) {
      blocking.release(connection, false)
      throw streamStoreFailed(error)
    }
    blocking.release(connection, true)
    const entries = entriesOf(reply)
    if (entries.length > 0) {
      this.#take(entries)
      return
    }
    // Nothing within blockMs: is the leader still there? Its last entries were written with its
    // lease, so one more read after a lapse finds anything it wrote before dying.
    try {
      if (Number(await send(['EXISTS', this.#context.keys.lease(this.#streamId)])) === 1) return
      // A follower can start before its leader's first write: give the leader one lease to begin.
      if (this.#last === '0-0' && this.#context.clock.now() - this.#since < this.#context.leaseMs) {
        return
      }
      this.#take(entriesOf(await send(['XREAD', 'STREAMS', this.#stream, this.#last])))
    } catch (error) {
      throw streamStoreFailed(error)
    }
    if (!this.#queue.ended) this.#finish(streamTruncated())
  }

  #take(entries: Entry[]): void {
    for (const [id, fields] of entries) {
      this.#last = id
      const data = field(fields, 'd') ?? ''
      switch (field(fields, 't')) {
        case 'head':
          this.head = JSON.parse(data) as StreamHead
          break
        case 'open':
          this.model = data
          this.#open = true
          this.#resolveOpened()
          break
        case 'ev':
          this.#queue.push(JSON.parse(data) as AnswerEvent[])
          break
        case 'end': {
          const end = JSON.parse(data) as { state: string; error?: StoredError }
          this.#finish(
            end.error
              ? loadError(end.error)
              : end.state === 'complete'
                ? undefined
                : streamStopped(),
          )
          break
        }
      }
    }
  }

  #finish(error: APIError | ValidationError | undefined): void {
    if (this.#queue.ended) return
    this.#queue.end(error)
    if (!this.#open) this.#rejectOpened(error ?? streamTruncated())
    this.#leave()
  }

  /** Keeps this reader in the answer's reader set (scored by when it lapses), refreshed as it reads. */
  #member(): void {
    const { clock, leaseMs, send, keys } = this.#context
    const now = clock.now()
    if (this.#queue.ended || this.#queue.closed || now - this.#membershipAt < leaseMs / 3) return
    this.#membershipAt = now
    const readers = keys.readers(this.#streamId)
    send(['ZADD', readers, String(now + leaseMs), this.#readerId])
      .then(() => send(['PEXPIRE', readers, String(leaseMs * 2)]))
      .catch(() => {})
  }

  #leave(): void {
    if (this.#membershipAt === Number.NEGATIVE_INFINITY) return
    this.#membershipAt = Number.NEGATIVE_INFINITY
    this.#context
      .send(['ZREM', this.#context.keys.readers(this.#streamId), this.#readerId])
      .catch(() => {})
  }
}
