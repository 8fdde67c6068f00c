import { type Clock, systemClock } from '../clock'
import type { Logger } from '../logger'
import { StoreTimeoutError } from './store-errors'

export interface StoreCircuitOptions {
  /** Names the store in log lines, e.g. `'Redis cache store'`. */
  name: string
  /** Bound on each shared call; past it the call counts as failed. Default 250 ms; 0 = unbounded. */
  timeoutMs?: number
  /** After a failure, skip the shared store this long, then let one call probe it. Default 2000 ms. */
  retryMs?: number
  /** Gets one line when an outage starts and one when it ends. Default `console`. */
  logger?: Pick<Logger, 'warn'>
  /** Injectable for tests (fake timers). */
  clock?: Pick<Clock, 'now' | 'setTimeout' | 'clearTimeout'>
}

export type StoreCircuitState = 'closed' | 'open' | 'probing'

/**
 * Runs calls against a shared store and, when it fails or hangs, against local state instead: the
 * request never fails and never waits past `timeoutMs`. After a failure the circuit opens: calls go
 * straight to local state (no timeout paid per request) until `retryMs` passed, then one call probes
 * the shared store and, if it answers, closes the circuit again. One log line per outage, not per
 * request.
 */
export interface StoreCircuit {
  run<T>(shared: () => T | Promise<T>, local: () => T | Promise<T>): Promise<T>
  readonly state: StoreCircuitState
}

const DEFAULT_TIMEOUT_MS = 250
const DEFAULT_RETRY_MS = 2000

export function createStoreCircuit(options: StoreCircuitOptions): StoreCircuit {
  const { name } = options
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const retryMs = options.retryMs ?? DEFAULT_RETRY_MS
  const logger = options.logger ?? console
  const clock = options.clock ?? systemClock
  let state: StoreCircuitState = 'closed'
  let openUntil = 0

  const bounded = <T>(call: () => T | Promise<T>): Promise<T> => {
    // Invoked inside the promise so a synchronous throw becomes a rejection.
    const result = new Promise<T>((resolve) => resolve(call()))
    if (!(timeoutMs > 0)) return result
    return new Promise<T>((resolve, reject) => {
      // The rejection waits one more turn of the event loop: if the loop was blocked (GC, CPU
      // starvation) past the bound, a reply already read from the socket settles first, instead of
      // a timeout that only measured our own stall opening the circuit.
      const timer = clock.setTimeout(() => {
        clock.setTimeout(() => reject(new StoreTimeoutError(name, timeoutMs)), 0)
      }, timeoutMs)
      result.then(
        (value) => {
          clock.clearTimeout(timer)
          resolve(value)
        },
        (error: unknown) => {
          clock.clearTimeout(timer)
          reject(error)
        },
      )
    })
  }

  return {
    get state() {
      return state
    },
    async run(shared, local) {
      if (state === 'probing') return local()
      if (state === 'open') {
        if (clock.now() < openUntil) return local()
        // Only this call probes; the others keep using local state until it settles.
        state = 'probing'
      }
      let value: Awaited<ReturnType<typeof shared>>
      try {
        value = await bounded(shared)
      } catch (error) {
        if (state === 'closed') {
          logger.warn(
            `[copilotedge] ${name} failed (${errorText(error)}); using local state until it answers again (next try in ${retryMs} ms)`,
          )
        }
        state = 'open'
        openUntil = clock.now() + retryMs
        return local()
      }
      if (state === 'probing') {
        state = 'closed'
        logger.warn(`[copilotedge] ${name} answers again; shared state restored`)
      }
      return value
    },
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}
