import type { Clock } from '../../clock'
import type { LogEntry, LogSink, LogTail } from '../../engine/shared-stream-reader'
import { streamStoreFailed, streamTruncated } from '../../engine/stream-store'
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
 * One answer's shared log in a Redis stream, read from its first entry (one entry per batch the leader wrote, then
 * the end with its final state). Tailing blocks on a connection of its own (`XREAD BLOCK`); after
 * each read that brought nothing it checks the leader's lease, so a leader that died ends the read
 * with `stream_truncated` instead of a hang. While it reads, it counts as a reader of the answer
 * (its leader keeps the answer running).
 */
export class RedisLogTail implements LogTail {
  readonly #context: ReaderContext
  readonly #streamId: string
  readonly #stream: string
  readonly #readerId = crypto.randomUUID()
  #last = '0-0'
  #membershipAt = Number.NEGATIVE_INFINITY
  readonly #since: number

  constructor(context: ReaderContext, streamId: string) {
    this.#context = context
    this.#streamId = streamId
    this.#stream = context.keys.stream(streamId)
    this.#since = context.clock.now()
  }

  async fetch(sink: LogSink): Promise<void> {
    const { blocking, blockMs, send } = this.#context
    this.#member(sink)
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
      this.#takeAll(sink, entries)
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
      this.#takeAll(sink, entriesOf(await send(['XREAD', 'STREAMS', this.#stream, this.#last])))
    } catch (error) {
      throw streamStoreFailed(error)
    }
    sink.finish(streamTruncated())
  }

  #takeAll(sink: LogSink, entries: Entry[]): void {
    for (const [id, fields] of entries) {
      this.#last = id
      const t = field(fields, 't')
      const data = field(fields, 'd') ?? ''
      // `open` carries the model as a plain string; the others are JSON.
      if (t === 'open') sink.take({ t, d: data })
      else if (t === 'head' || t === 'ev' || t === 'end')
        sink.take({ t, d: JSON.parse(data) } as LogEntry)
    }
  }

  /** Keeps this reader in the answer's reader set (scored by when it lapses), refreshed as it reads. */
  #member(sink: LogSink): void {
    const { clock, leaseMs, send, keys } = this.#context
    const now = clock.now()
    if (sink.done || now - this.#membershipAt < leaseMs / 3) return
    this.#membershipAt = now
    const readers = keys.readers(this.#streamId)
    send(['ZADD', readers, String(now + leaseMs), this.#readerId])
      .then(() => send(['PEXPIRE', readers, String(leaseMs * 2)]))
      .catch(() => {})
  }

  leave(): void {
    if (this.#membershipAt === Number.NEGATIVE_INFINITY) return
    this.#membershipAt = Number.NEGATIVE_INFINITY
    this.#context
      .send(['ZREM', this.#context.keys.readers(this.#streamId), this.#readerId])
      .catch(() => {})
  }
}
