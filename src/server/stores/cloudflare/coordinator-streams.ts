import { type Clock, systemClock } from '../../clock'
import type { DurableObjectStorageLike } from './cloudflare-bindings'

/** The coordinator's stream routes (versioned: a future format never misreads an old log). */
export const STREAM_PATHS = {
  claim: '/v1/stream/claim',
  append: '/v1/stream/append',
  read: '/v1/stream/read',
  stop: '/v1/stream/stop',
  readers: '/v1/stream/readers',
  point: '/v1/stream/point',
  live: '/v1/stream/live',
} as const

/** One entry of an answer's log: its head, the upstream's model, a batch of events, the end. */
export interface StreamEntry {
  t: 'head' | 'open' | 'ev' | 'end'
  d: unknown
}

/** What a write (append or heartbeat) tells its publisher. */
export interface AppendReply {
  /** Someone asked to stop the answer (`DELETE ?stream=` on any isolate). */
  stopped: boolean
  /** The lease lapsed before this write: readers were told the answer is truncated. */
  lapsed: boolean
  /** Readers tailing the log now. */
  readers: number
}

/** The line a tail gets when the writer's lease lapsed (never stored: derived from the state). */
export const LAPSED_LINE = '{"t":"lapsed"}'

interface LogMeta {
  /** Entries stored, under `e:<id>:<n>`. */
  count: number
  state: 'live' | 'ended' | 'lapsed'
  leaseUntil: number
  /** When the alarm deletes it: `ttlMs` after its end (or after its lease lapsed). */
  expiresAt: number
  stopped: boolean
}

interface Tail {
  send(lines: string): void
  close(): void
}

interface Log {
  meta: LogMeta | undefined
  lines: string[]
  tails: Set<Tail>
  lapseTimer: unknown
}

const encoder = new TextEncoder()
const metaKey = (id: string) => `m:${id}`
const pointerKey = (conversation: string) => `p:${conversation}`
const entryPrefix = (id: string) => `e:${id}:`
// Zero-padded so storage's key order is the log's order.
const entryKey = (id: string, n: number) => entryPrefix(id) + String(n).padStart(8, '0')

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })

const isPositive = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value) && value > 0

/**
 * The stream half of `CopilotEdgeCoordinator`: answers' logs and the claims of cache keys. A log
 * is kept in memory for its tails and written through to storage (so a resume after the object
 * was evicted still finds it), deleted by the alarm `ttlMs` after it ended. Readers tail it over
 * one streaming response each (NDJSON, one line per entry), pushed as appends arrive: nobody
 * polls. The writer holds a lease that each write renews; when it lapses, tails end with a
 * `lapsed` line (the reader's `stream_truncated`) and the claim is free. One object runs one event
 * at a time, so each route is atomic.
 */
export class CoordinatorStreams {
  readonly #storage: DurableObjectStorageLike
  readonly #clock: Pick<Clock, 'now' | 'setTimeout' | 'clearTimeout'>
  /** Asks the object's one alarm to fire by this time (shared with the rate-limit buckets). */
  readonly #wakeBy: (time: number) => Promise<void>
  readonly #logs = new Map<string, Log>()
  readonly #loading = new Map<string, Promise<Log>>()
  /** Cache keys claimed in this object: the leading stream and until when. */
  readonly #claims = new Map<string, { streamId: string; until: number }>()
  #wakeAt = Number.POSITIVE_INFINITY

  constructor(
    storage: DurableObjectStorageLike,
    wakeBy: (time: number) => Promise<void>,
    clock: Pick<Clock, 'now' | 'setTimeout' | 'clearTimeout'> = systemClock,
  ) {
    this.#storage = storage
    this.#wakeBy = wakeBy
    this.#clock = clock
  }

  async fetch(path: string, body: Record<string, unknown>): Promise<Response> {
    const id = body.id
    if (typeof id !== 'string' || id === '') return json({ error: '`id` must be a string' }, 400)
    const leaseMs = body.leaseMs
    switch (path) {
      case STREAM_PATHS.claim: {
        if (typeof body.key !== 'string' || !isPositive(leaseMs)) {
          return json({ error: '`key` must be a string and `leaseMs` a positive number' }, 400)
        }
        if (body.release === true) {
          if (this.#claims.get(body.key)?.streamId === id) this.#claims.delete(body.key)
          return json({ ok: true })
        }
        return json(await this.claim(body.key, id, leaseMs))
      }
      case STREAM_PATHS.append: {
        const { entries, ttlMs, key } = body
        if (!Array.isArray(entries) || !isPositive(leaseMs) || !isPositive(ttlMs)) {
          return json({ error: '`entries`, `leaseMs` and `ttlMs` are required' }, 400)
        }
        const release = body.release === true
        const claim = typeof key === 'string' ? key : undefined
        return json(
          await this.append(id, entries as StreamEntry[], { leaseMs, ttlMs, claim, release }),
        )
      }
      case STREAM_PATHS.read:
        if (!isPositive(leaseMs)) return json({ error: '`leaseMs` is required' }, 400)
        return this.read(id, body.known === true, leaseMs)
      case STREAM_PATHS.stop:
        return json({ found: await this.stop(id) })
      case STREAM_PATHS.readers:
        return json({ readers: (await this.#log(id)).tails.size })
      case STREAM_PATHS.point: {
        const { streamId, ttlMs } = body
        if (typeof streamId !== 'string' || !isPositive(ttlMs)) {
          return json({ error: '`streamId` and `ttlMs` are required' }, 400)
        }
        await this.point(id, streamId, body.clear === true ? 0 : ttlMs)
        return json({ ok: true })
      }
      case STREAM_PATHS.live:
        return json({ streamId: (await this.live(id)) ?? null })
      default:
        return json({ error: 'not found' }, 404)
    }
  }

  /** Leads `key` under `streamId`, or names the stream that leads it while its claim holds. */
  async claim(key: string, streamId: string, leaseMs: number) {
    const now = this.#clock.now()
    const held = this.#claims.get(key)
    if (held && held.until > now && held.streamId !== streamId) {
      const log = await this.#log(held.streamId)
      if (this.#lapse(held.streamId, log) !== 'lapsed') {
        return { role: 'follower' as const, streamId: held.streamId }
      }
    }
    this.#claims.set(key, { streamId, until: now + leaseMs })
    return { role: 'leader' as const }
  }

  /** Appends entries (none: a heartbeat), renews the lease (and the claim), pushes to tails. */
  async append(
    id: string,
    entries: StreamEntry[],
    options: { leaseMs: number; ttlMs: number; claim?: string; release?: boolean },
  ): Promise<AppendReply> {
    const now = this.#clock.now()
    const log = await this.#log(id)
    if (this.#lapse(id, log) === 'lapsed') {
      return { stopped: log.meta?.stopped ?? false, lapsed: true, readers: log.tails.size }
    }
    log.meta ??= { count: 0, state: 'live', leaseUntil: 0, expiresAt: 0, stopped: false }
    const meta = log.meta
    if (meta.state === 'ended') return { stopped: meta.stopped, lapsed: false, readers: 0 }
    let pushed = ''
    const writes: Promise<unknown>[] = []
    for (const entry of entries) {
      const line = JSON.stringify({ t: entry.t, d: entry.d })
      log.lines.push(line)
      // Not awaited one by one: the object coalesces the puts of one event into one write.
      writes.push(this.#storage.put(entryKey(id, meta.count++), line))
      pushed += `${line}\n`
      if (entry.t === 'end') meta.state = 'ended'
    }
    meta.leaseUntil = now + options.leaseMs
    meta.expiresAt = meta.state === 'ended' ? now + options.ttlMs : meta.leaseUntil + options.ttlMs
    writes.push(this.#storage.put(metaKey(id), meta))
    if (options.claim !== undefined) {
      const held = this.#claims.get(options.claim)
      if (held?.streamId === id) {
        if (options.release) this.#claims.delete(options.claim)
        else held.until = Math.max(held.until, meta.leaseUntil)
      }
    }
    // A heartbeat sends an empty line: a tail that hears nothing for long knows the object is gone.
    for (const tail of log.tails) tail.send(pushed || '\n')
    const readers = log.tails.size
    if (meta.state === 'ended') this.#closeTails(log)
    else this.#armLapse(id, log)
    await Promise.all(writes)
    await this.#wake(meta.expiresAt)
    return { stopped: meta.stopped, lapsed: false, readers }
  }

  /**
   * The log from its first entry, then live, as NDJSON; a 404 when `known` and there is none.
   * Without `known` (a follower of a claim), a log not written yet is waited for one lease.
   */
  async read(id: string, known: boolean, leaseMs: number): Promise<Response> {
    const log = await this.#log(id)
    if (known && !log.meta) return json({ found: false }, 404)
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>()
    const writer = writable.getWriter()
    let open = true
    const tail: Tail = {
      send: (lines) => {
        // Never awaited (a slow reader must not hold the writer); a failed write is a gone reader.
        if (open) writer.write(encoder.encode(lines)).catch(() => tail.close())
      },
      close: () => {
        if (!open) return
        open = false
        log.tails.delete(tail)
        writer.close().catch(() => {})
        this.#forget(id, log)
      },
    }
    if (log.lines.length > 0) tail.send(`${log.lines.join('\n')}\n`)
    const state = this.#lapse(id, log)
    if (state === 'ended') tail.close()
    else if (state === 'lapsed') {
      tail.send(`${LAPSED_LINE}\n`)
      tail.close()
    } else {
      log.tails.add(tail)
      if (log.meta) this.#armLapse(id, log)
      else {
        // A follower can arrive before its leader's first write: give the leader one lease.
        this.#clock.setTimeout(() => {
          if (log.meta || !open) return
          tail.send(`${LAPSED_LINE}\n`)
          tail.close()
        }, leaseMs)
      }
    }
    return new Response(readable, { headers: { 'Content-Type': 'application/x-ndjson' } })
  }

  /** Marks a stream stopped (its writer learns it from its next write's reply). */
  async stop(id: string): Promise<boolean> {
    const log = await this.#log(id)
    const meta = log.meta
    if (!meta) {
      this.#forget(id, log)
      return false
    }
    if (meta.state === 'live' && !meta.stopped) {
      meta.stopped = true
      await this.#storage.put(metaKey(id), meta)
    }
    return true
  }

  /**
   * Points a conversation (useChat's chat id) at its running stream for `ttlMs` (0: clears it,
   * if it still names that stream). The pointer is renewed by its writer, not by each write.
   */
  async point(conversation: string, streamId: string, ttlMs: number): Promise<void> {
    const key = pointerKey(conversation)
    if (ttlMs === 0) {
      const held = await this.#storage.get<{ streamId: string }>(key)
      if (held?.streamId === streamId) await this.#storage.delete(key)
      return
    }
    const until = this.#clock.now() + ttlMs
    await this.#storage.put(key, { streamId, until })
    await this.#wake(until)
  }

  /** The stream a conversation points at, while its pointer holds. */
  async live(conversation: string): Promise<string | undefined> {
    const held = await this.#storage.get<{ streamId: string; until: number }>(
      pointerKey(conversation),
    )
    return held && held.until > this.#clock.now() ? held.streamId : undefined
  }

  /** Deletes the logs past their expiry; answers when to wake next (or Infinity). */
  async alarm(): Promise<number> {
    this.#wakeAt = Number.POSITIVE_INFINITY
    const now = this.#clock.now()
    const metas = await this.#storage.list<LogMeta>({ prefix: 'm:' })
    let next = Number.POSITIVE_INFINITY
    for (const [name, stored] of metas) {
      const id = name.slice(2)
      // Memory is newer than storage only while a write is in flight: take the later expiry.
      const meta = this.#logs.get(id)?.meta ?? stored
      if (now < meta.expiresAt) {
        next = Math.min(next, meta.expiresAt)
        continue
      }
      const log = this.#logs.get(id)
      if (log) {
        for (const tail of [...log.tails]) {
          tail.send(`${LAPSED_LINE}\n`)
          tail.close()
        }
        this.#logs.delete(id)
      }
      const keys = [...(await this.#storage.list({ prefix: entryPrefix(id) })).keys(), name]
      // Storage deletes at most 128 keys per call.
      for (let i = 0; i < keys.length; i += 128) await this.#storage.delete(keys.slice(i, i + 128))
    }
    const pointers = await this.#storage.list<{ until: number }>({ prefix: 'p:' })
    const expired: string[] = []
    for (const [name, pointer] of pointers) {
      if (now >= pointer.until) expired.push(name)
      else next = Math.min(next, pointer.until)
    }
    for (let i = 0; i < expired.length; i += 128) {
      await this.#storage.delete(expired.slice(i, i + 128))
    }
    this.#wakeAt = next
    return next
  }

  /** The log in memory, loaded from storage once (the object may have been evicted since). */
  #log(id: string): Promise<Log> {
    const log = this.#logs.get(id)
    if (log) return Promise.resolve(log)
    let loading = this.#loading.get(id)
    if (!loading) {
      loading = this.#load(id).finally(() => this.#loading.delete(id))
      this.#loading.set(id, loading)
    }
    return loading
  }

  async #load(id: string): Promise<Log> {
    const meta = await this.#storage.get<LogMeta>(metaKey(id))
    const lines = meta
      ? [...(await this.#storage.list<string>({ prefix: entryPrefix(id) })).values()]
      : []
    const log: Log = { meta, lines, tails: new Set(), lapseTimer: undefined }
    this.#logs.set(id, log)
    return log
  }

  /** A log with neither entries nor tails (an unknown id asked about) is not kept in memory. */
  #forget(id: string, log: Log): void {
    if (!log.meta && log.tails.size === 0 && this.#logs.get(id) === log) this.#logs.delete(id)
  }

  /** The log's state now: a live log whose lease ran out becomes `lapsed` (tails told, claim freed). */
  #lapse(id: string, log: Log): LogMeta['state'] | undefined {
    const meta = log.meta
    if (meta?.state !== 'live' || this.#clock.now() < meta.leaseUntil) return meta?.state
    meta.state = 'lapsed'
    this.#storage.put(metaKey(id), meta).catch(() => {})
    for (const [key, held] of this.#claims) if (held.streamId === id) this.#claims.delete(key)
    for (const tail of [...log.tails]) {
      tail.send(`${LAPSED_LINE}\n`)
      tail.close()
    }
    return 'lapsed'
  }

  #closeTails(log: Log): void {
    for (const tail of [...log.tails]) tail.close()
    this.#clock.clearTimeout(log.lapseTimer)
    log.lapseTimer = undefined
  }

  /** While someone tails a live log, wake at its lease's end: a dead writer is noticed at once. */
  #armLapse(id: string, log: Log): void {
    if (log.lapseTimer !== undefined || log.tails.size === 0 || !log.meta) return
    const check = () => {
      log.lapseTimer = undefined
      if (this.#lapse(id, log) === 'live') this.#armLapse(id, log)
    }
    log.lapseTimer = this.#clock.setTimeout(
      check,
      Math.max(1, log.meta.leaseUntil - this.#clock.now() + 1),
    )
  }

  async #wake(time: number): Promise<void> {
    if (time >= this.#wakeAt) return
    this.#wakeAt = time
    await this.#wakeBy(time)
  }
}
