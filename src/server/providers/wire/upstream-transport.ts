import type { NodeHttpModules } from './node-http-transport'
import { createNodeHttpTransport } from './node-http-transport'

/**
 * What a provider needs of an upstream answer: a Fetch `Response` has all of it, and so has the
 * node:http transport's answer, which is no `Response` (that is where its saving lies).
 */
export interface UpstreamResponse {
  readonly ok: boolean
  readonly status: number
  readonly statusText: string
  readonly headers: { get(name: string): string | null }
  readonly body: ChunkSource | null
  text(): Promise<string>
}

/** A body read chunk by chunk: a `ReadableStream<Uint8Array>` is one. */
export interface ChunkSource {
  getReader(): ChunkReader
}

/**
 * A `ReadableStreamDefaultReader`'s contract, as the stream normaliser uses it: `cancel()` ends a
 * pending `read()` with `done`, a failed body rejects it.
 */
export interface ChunkReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>
  cancel(reason?: unknown): Promise<void>
}

export interface UpstreamRequestInit {
  method: 'POST'
  headers: Record<string, string>
  body: string
  signal: AbortSignal
}

/** Sends one upstream request. Any `fetch` is one (config `fetch`). */
export type Transport = (url: string, init: UpstreamRequestInit) => Promise<UpstreamResponse>

/** Set by undici's `setGlobalDispatcher` (and by Node's fetch on first use, to a plain `Agent`). */
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1')

/**
 * node:http and node:https when this is Node itself (not Bun, Deno or workerd's Node
 * compatibility, whose `fetch` is native and fast), without a static import: the server entry
 * also runs on the edge, where bundlers must not meet `node:http`.
 */
function nodeHttpModules(): NodeHttpModules | undefined {
  if (typeof process !== 'object' || process === null) return undefined
  const { versions } = process
  if (typeof versions?.node !== 'string' || 'bun' in versions || 'deno' in versions) {
    return undefined
  }
  // workerd's nodejs_compat has a `process` too; its navigator says who it is (Node 20 has none).
  const agent = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent
  if (agent !== undefined && !agent.startsWith('Node.js')) return undefined
  const load = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule
  if (typeof load !== 'function') return undefined
  return {
    http: load('node:http') as NodeHttpModules['http'],
    https: load('node:https') as NodeHttpModules['https'],
  }
}

/** Node's env-proxy support (Node 24) proxies fetch and Node's global agents, not our pool. */
function envProxy(): boolean {
  return Boolean(process.env.NODE_USE_ENV_PROXY) || process.execArgv.includes('--use-env-proxy')
}

type MaybeWrapped = typeof fetch & { __nextPatched?: boolean; _nextOriginalFetch?: typeof fetch }

/**
 * The fetch a `globalThis.fetch` stands for: Next.js's wrapper counts as the fetch it wraps (it
 * adds caching and tracing to GET requests, nothing an upstream POST uses, and says so with
 * `__nextPatched`, whenever Next.js installs it).
 */
function unwrapped(given: MaybeWrapped | undefined): typeof fetch | undefined {
  return given?.__nextPatched ? given._nextOriginalFetch : given
}

/**
 * Node's own fetch, if `globalThis.fetch` stands for it when this module loads: its source loads
 * Node's bundled undici (Node 20, 22 and 24 alike). A fetch the user installed before (a wrapper,
 * a polyfill) is not, and keeps every request.
 */
function nodesOwnFetch(): typeof fetch | undefined {
  const own = unwrapped(globalThis.fetch)
  if (typeof own !== 'function') return undefined
  return Function.prototype.toString.call(own).includes('internal/deps/undici') ? own : undefined
}

const nodeModules = nodeHttpModules()
const nodeFetch = nodeModules && !envProxy() ? nodesOwnFetch() : undefined
const nodeHttp =
  nodeModules && nodeFetch
    ? createNodeHttpTransport(nodeModules, { follow: (url, init) => nodeFetch(url, init) })
    : undefined

/**
 * Whether the user left Node's fetch as Node set it up. Anything they changed is honoured by
 * going through fetch: a replaced `globalThis.fetch` (a test stub, a wrapper, a polyfill), an
 * undici dispatcher of another kind (a proxy, MockAgent).
 */
function fetchIsNodes(): boolean {
  if (unwrapped(globalThis.fetch) !== nodeFetch) return false
  const dispatcher = (globalThis as Record<symbol, unknown>)[GLOBAL_DISPATCHER]
  return dispatcher === undefined || (dispatcher as object).constructor?.name === 'Agent'
}

/**
 * The upstream's HTTP when no `fetch` is configured. On Node, while fetch is Node's own, node:http
 * with a keep-alive pool: Node's fetch builds a WHATWG Request, Response and web stream per call
 * and a promise-wrapped web stream read per network chunk. Reading 100 concurrent streams from the
 * emulator cost a Node 20 process 4.3–5.0 ms of CPU per 50-token stream through fetch against
 * 2.6 ms through node:http, and 0.85–1.2 ms against 0.35 ms per 1-token stream (bench/README.md).
 * Elsewhere, and whenever the user changed fetch, `globalThis.fetch`, looked up at call time so a
 * stub installed later still applies.
 */
export const defaultTransport: Transport = (url, init) =>
  nodeHttp !== undefined && fetchIsNodes() ? nodeHttp(url, init) : globalThis.fetch(url, init)
