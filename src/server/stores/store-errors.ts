/** A shared store did not answer within its bound: the request goes on with local state. */
export class StoreTimeoutError extends Error {
  override readonly name = 'StoreTimeoutError'
  readonly timeoutMs: number

  constructor(store: string, timeoutMs: number) {
    super(`${store} did not answer within ${timeoutMs} ms`)
    this.timeoutMs = timeoutMs
  }
}

/** The shared store's client is not connected (yet, or any more): fail fast instead of queueing. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError'
}
