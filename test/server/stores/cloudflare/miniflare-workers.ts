import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { Miniflare } from 'miniflare'

// Workers on workerd (from npm, started by Miniflare as its own child process), bundled from src/
// with esbuild as wrangler would. No Cloudflare account or network: KV, the Cache API and Durable
// Objects are Miniflare's local implementations, inside workerd.

const COMPATIBILITY_DATE = '2025-09-01'
const entry = fileURLToPath(new URL('./store-worker.ts', import.meta.url))

let bundled: Promise<string> | undefined
export function bundleStoreWorker(): Promise<string> {
  bundled ??= build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
    external: ['cloudflare:workers'],
    write: false,
    logLevel: 'silent',
  }).then((result) => result.outputFiles[0]?.text ?? '')
  return bundled
}

export interface WorkerSpec {
  name: string
  vars?: Record<string, string>
  /** Its own SQLite-backed coordinator namespace (what `new_sqlite_classes` gives on Cloudflare). */
  sqlite?: boolean
  /** Compatibility flags (`compatibility_flags` in wrangler.toml). */
  flags?: string[]
}

export interface StartedWorkers {
  mf: Miniflare
  /** `http://127.0.0.1:PORT` of each worker, by name: each has its own socket. */
  origins: Record<string, string>
  dispose(): Promise<void>
}

/**
 * Starts workers running the store Worker in ONE workerd: every one binds the same KV namespace
 * (`CACHE`) and the same Durable Object namespace (`COORDINATOR`, whose class the first worker
 * exports), as two Workers of one account binding one namespace would.
 */
export async function startStoreWorkers(specs: WorkerSpec[]): Promise<StartedWorkers> {
  const code = await bundleStoreWorker()
  const owner = specs[0]?.name ?? 'a'
  const mf = new Miniflare({
    host: '127.0.0.1',
    port: 0,
    workers: specs.map((spec) => ({
      name: spec.name,
      modules: [{ type: 'ESModule' as const, path: 'worker.js', contents: code }],
      compatibilityDate: COMPATIBILITY_DATE,
      compatibilityFlags: spec.flags ?? [],
      kvNamespaces: { CACHE: 'copilotedge-cache' },
      durableObjects: {
        COORDINATOR: spec.sqlite
          ? { className: 'CopilotEdgeCoordinator', useSQLite: true }
          : spec.name === owner
            ? 'CopilotEdgeCoordinator'
            : { className: 'CopilotEdgeCoordinator', scriptName: owner },
      },
      bindings: { ...spec.vars },
      unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
    })),
  })
  await mf.ready
  const origins: Record<string, string> = {}
  for (const spec of specs) origins[spec.name] = (await mf.unsafeGetDirectURL(spec.name)).origin
  return { mf, origins, dispose: () => mf.dispose() }
}

/**
 * A store whose every method runs inside workerd (`POST /store/<kind>/<method>`), so the contract
 * suites in Node exercise the store code and the binding on workerd itself.
 */
export function remoteStore<T>(
  origin: string,
  kind: 'kv' | 'cache-api' | 'durable-object',
  options: { prefix: string; maxBytes?: number },
  methods: string[],
): T {
  const store: Record<string, unknown> = {}
  for (const method of methods) {
    store[method] = async (...args: unknown[]) => {
      const response = await fetch(`${origin}/store/${kind}/${method}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ options, args }),
      })
      const body = (await response.json()) as { value?: unknown; error?: string }
      if (!response.ok) throw new Error(`${kind}.${method} in workerd: ${body.error}`)
      return body.value
    }
  }
  return store as T
}

// Miniflare types its bindings with @cloudflare/workers-types, which this repo does not install:
// the few calls the tests make, typed here.
export interface TestKV {
  get(key: string): Promise<string | null>
  getWithMetadata(key: string, type: 'text'): Promise<{ value: string | null; metadata: unknown }>
  put(key: string, value: string): Promise<void>
  list(options: { prefix: string }): Promise<{ keys: Array<{ name: string; expiration?: number }> }>
}
export interface TestCache {
  match(url: string): Promise<Response | undefined>
}
export interface TestDurableObjectNamespace {
  idFromName(name: string): unknown
  get(id: unknown): { fetch(url: string, init?: RequestInit): Promise<Response> }
}

export const kvOf = async (mf: Miniflare, worker: string) =>
  (await mf.getKVNamespace('CACHE', worker)) as unknown as TestKV
export const defaultCacheOf = async (mf: Miniflare) =>
  ((await mf.getCaches()) as unknown as { default: TestCache }).default
export const coordinatorOf = async (mf: Miniflare, worker: string) =>
  (await mf.getDurableObjectNamespace(
    'COORDINATOR',
    worker,
  )) as unknown as TestDurableObjectNamespace
