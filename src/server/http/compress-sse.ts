import type { Transform } from 'node:stream'
import type * as Zlib from 'node:zlib'
import { chooseEncoding } from './accept-encoding'

/**
 * `'auto'`: SSE answers are compressed (gzip, br or zstd, as the client accepts) where the runtime
 * has a compressor that can flush, i.e. `node:zlib` (Node, Bun, Deno), and never on Cloudflare
 * Workers. `false`: never. JSON answers are never compressed here.
 */
export type CompressionSetting = 'auto' | false

/** Content codings we produce (our preference, for codings the client weighs equally, is below). */
export type SseEncoding = 'br' | 'zstd' | 'gzip'

/**
 * Request header turning compression off for one request (`off`): for a client or proxy that
 * cannot set `Accept-Encoding` (a browser page cannot) yet must get the stream unencoded.
 */
export const COMPRESSION_HEADER = 'X-CopilotEdge-Compression'

const VARY = `Accept-Encoding, ${COMPRESSION_HEADER}`

/** A compressor that emits everything it was given at every write (a flush per write). */
type FlushingCompressor = Transform

/** `node:zlib` with zstd where it has it (Node ≥ 22.15, Bun, Deno; the installed types are Node 20's). */
type ZlibModule = typeof Zlib & {
  createZstdCompress?: (options: { flush: number }) => Transform
  constants: { ZSTD_e_flush?: number }
}

export interface SseCompressors {
  /** What this runtime can produce, in our order of preference. */
  encodings: readonly SseEncoding[]
  create(encoding: SseEncoding): FlushingCompressor
}

/**
 * Settings for small, frequent writes. gzip: level 6 (zlib's default). Brotli: quality 5, not the
 * default 11 (made for static files: ~10x the CPU for a few % fewer bytes) and a 256 KiB window
 * instead of 4 MiB (an answer's repeats are a few hundred bytes apart; the window is per open
 * stream). zstd: its default level 3.
 */
export function zlibCompressors(zlib: ZlibModule): SseCompressors {
  const c = zlib.constants
  return {
    // gzip first: flushed per event it sends the fewest bytes (17.9 B per Chat Completions event
    // against 19.5 for br and 19.3 for zstd; bench/suites/compression.mjs).
    encodings: zlib.createZstdCompress ? ['gzip', 'br', 'zstd'] : ['gzip', 'br'],
    create(encoding) {
      if (encoding === 'gzip') return zlib.createGzip({ level: 6, flush: c.Z_SYNC_FLUSH })
      if (encoding === 'zstd' && zlib.createZstdCompress) {
        return zlib.createZstdCompress({ flush: c.ZSTD_e_flush ?? 1 })
      }
      return zlib.createBrotliCompress({
        flush: c.BROTLI_OPERATION_FLUSH,
        params: {
          [c.BROTLI_PARAM_MODE]: c.BROTLI_MODE_TEXT,
          [c.BROTLI_PARAM_QUALITY]: 5,
          [c.BROTLI_PARAM_LGWIN]: 18,
        },
      })
    },
  }
}

/**
 * `node:zlib` where the runtime has it (Node ≥ 20.16, Bun, Deno: `process.getBuiltinModule`, so
 * bundlers for the edge see no import), else undefined. The web `CompressionStream` is not a
 * fallback: it cannot flush, and on Node and Bun it held every event of a 2,000-event answer until
 * the stream closed (Deno's flushes each write). Cloudflare Workers (also with nodejs_compat) get
 * none either: a Worker's response reaches the visitor through Cloudflare's front line, which owns
 * compression (its Compression Rules), and workerd re-encodes any body that carries
 * `Content-Encoding` unless told otherwise.
 */
export function runtimeCompressors(): SseCompressors | undefined {
  const scope = globalThis as {
    navigator?: { userAgent?: string }
    process?: { getBuiltinModule?: (id: string) => unknown }
  }
  if (scope.navigator?.userAgent === 'Cloudflare-Workers') return undefined
  const get = scope.process?.getBuiltinModule
  if (typeof get !== 'function') return undefined
  try {
    const zlib = get('node:zlib') as ZlibModule | undefined
    return zlib && typeof zlib.createGzip === 'function' ? zlibCompressors(zlib) : undefined
  } catch {
    return undefined
  }
}

type Handler = (request: Request) => Promise<Response>

/**
 * Compresses the handler's SSE answers for clients that accept it (see `compressResponse`). With
 * `false`, or on a runtime without a flushing compressor, the handler is returned as is.
 */
export function withCompression(
  handler: Handler,
  setting: CompressionSetting,
  compressors: SseCompressors | undefined = setting === false ? undefined : runtimeCompressors(),
): Handler {
  if (setting === false || !compressors) return handler
  return async (request) => compressResponse(request, await handler(request), compressors)
}

/**
 * An SSE response encoded in the best coding the request accepts, with a flush per chunk of the
 * body (the body already batches the events that are ready: one flush per batch), so no event
 * waits in the compressor. Every SSE answer gets `Vary`, compressed or not. Any other response,
 * and one already encoded, is returned untouched.
 */
export function compressResponse(
  request: Request,
  response: Response,
  compressors: SseCompressors,
): Response {
  const body = response.body
  if (!body || !response.headers.get('content-type')?.startsWith('text/event-stream')) {
    return response
  }
  if (response.headers.has('content-encoding')) return response
  const off = request.headers.get(COMPRESSION_HEADER)?.trim().toLowerCase() === 'off'
  const encoding = off
    ? undefined
    : chooseEncoding(request.headers.get('accept-encoding'), compressors.encodings)
  const headers = new Headers(response.headers)
  const vary = headers.get('vary')
  headers.set('Vary', vary ? `${vary}, ${VARY}` : VARY)
  if (!encoding) {
    return new Response(body, { status: response.status, statusText: response.statusText, headers })
  }
  headers.set('Content-Encoding', encoding)
  headers.delete('Content-Length')
  return new Response(compressedBody(body, compressors.create(encoding)), {
    status: response.status,
    statusText: response.statusText,
    headers,
  })
}

/**
 * `source` through `compressor`, one compressed chunk per source chunk, pulled only as fast as
 * the client reads (the source's own backpressure and heartbeats are unchanged). Cancelling it
 * cancels the source (the answer aborts its upstream); a compressor failure does too.
 */
export function compressedBody(
  source: ReadableStream<Uint8Array>,
  compressor: FlushingCompressor,
): ReadableStream<Uint8Array> {
  const reader = source.getReader()
  let out: Uint8Array[] = []
  let failure: Error | undefined
  let cancelled = false
  compressor.on('data', (chunk: Uint8Array) => out.push(chunk))
  compressor.on('error', (error: Error) => {
    failure = error
  })
  const take = (): Uint8Array | undefined => {
    const pieces = out
    out = []
    if (pieces.length <= 1) return pieces[0]
    let size = 0
    for (const piece of pieces) size += piece.byteLength
    const chunk = new Uint8Array(size)
    let at = 0
    for (const piece of pieces) {
      chunk.set(piece, at)
      at += piece.byteLength
    }
    return chunk
  }
  // The write's callback runs once its flushed output was pushed (checked on Node, Bun and Deno).
  const write = (chunk: Uint8Array) =>
    new Promise<void>((resolve, reject) =>
      compressor.write(chunk, (error?: Error | null) => (error ? reject(error) : resolve())),
    )
  const finish = () =>
    new Promise<void>((resolve, reject) => {
      if (failure) return reject(failure)
      compressor.once('end', resolve)
      compressor.once('error', reject)
      compressor.end()
    })

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        // Until something is enqueued: a pull that enqueues nothing is not called again.
        for (;;) {
          const { done, value } = await reader.read()
          if (cancelled) return
          if (done) {
            await finish()
            const tail = take()
            if (tail) controller.enqueue(tail)
            controller.close()
            return
          }
          if (value.byteLength === 0) continue
          await write(value)
          if (cancelled) return
          if (failure) throw failure
          const chunk = take()
          if (chunk) {
            controller.enqueue(chunk)
            return
          }
        }
      } catch (error) {
        if (cancelled) return
        compressor.destroy()
        await reader.cancel(error).catch(() => {})
        controller.error(error)
      }
    },
    async cancel(reason) {
      cancelled = true
      compressor.destroy()
      await reader.cancel(reason)
    },
  })
}
