/** `waitUntil` from `cloudflare:workers` (or `ctx.waitUntil`): keeps a Worker alive for a promise. */
export type WaitUntil = (promise: Promise<unknown>) => void

let warned = false

/**
 * Wraps a store's writes so each is handed to `waitUntil`: the handler writes the cache after the
 * answer (a stream's after its last event), when workerd may already have ended the request, and
 * a write still pending then is cancelled (seen on workerd: the Cache API `put` never lands).
 * Without `waitUntil`, on Workers, says so once.
 */
export function keepAlive(
  waitUntil: WaitUntil | undefined,
  store: string,
): <T>(promise: Promise<T>) => Promise<T> {
  if (!waitUntil) {
    const onWorkers =
      (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent ===
      'Cloudflare-Workers'
    if (onWorkers && !warned) {
      warned = true
      console.warn(
        `[copilotedge] ${store}: pass \`waitUntil\` (import { waitUntil } from 'cloudflare:workers'), or cache writes that finish after the response are cancelled`,
      )
    }
    return (promise) => promise
  }
  return (promise) => {
    // The store's own promise is returned as is; the runtime only needs to wait, never to fail.
    waitUntil(promise.catch(() => {}))
    return promise
  }
}
