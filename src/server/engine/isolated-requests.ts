import type { Clock } from '../clock'
import { APIError } from '../errors'

/**
 * On workerd each request is its own I/O context. A reader woken by a promise another request
 * resolves (a follower of an identical request's answer, a resumed reader of a kept one) resumes
 * through workerd's cross-request promise delivery, which loses continuations and stalls the
 * reader's response under load (20 identical streams on Miniflare hung for good, followers at ~800
 * of 2,000 tokens). There such a reader looks for news from its own request's timer instead.
 */
export const ISOLATED_REQUESTS =
  typeof navigator !== 'undefined' && navigator.userAgent === 'Cloudflare-Workers'

/** How often a reader on workerd looks for news. */
const POLL_MS = 10

/**
 * Resolves on this request's own timer once `changed()` holds ('changed'), or once `idleMs` passed
 * without it ('idle'; 0: never). Every `everyMs` (POLL_MS by default).
 */
export function pollOwnTimer(
  clock: Clock,
  changed: () => boolean,
  idleMs: number,
  everyMs = POLL_MS,
): Promise<'changed' | 'idle'> {
  const since = clock.now()
  return new Promise((resolve) => {
    const look = () => {
      if (changed()) resolve('changed')
      // The request driving the answer can be gone without a word (workerd cancelled it when its
      // client left, and no `waitUntil` held it): never wait for good.
      else if (idleMs > 0 && clock.now() - since >= idleMs) resolve('idle')
      else clock.setTimeout(look, everyMs)
    }
    clock.setTimeout(look, everyMs)
  })
}

/** What a reader on workerd gets when an answer it shares sent nothing for `idleTimeoutMs`. */
export function sharedAnswerIdle(ms: number): APIError {
  return new APIError(
    `Nothing arrived for ${ms} ms (idleTimeoutMs) on an answer shared with another request. On Cloudflare Workers, pass \`waitUntil\` (from cloudflare:workers) to createCopilotEdgeHandler: without it, the answer ends when the request that opened it does.`,
    { status: 504, type: 'timeout_error', code: 'idle_timeout' },
  )
}
