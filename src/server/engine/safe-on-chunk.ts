import type { Logger } from '../logger'

/**
 * The config's `onChunk`, made safe: a throw or rejection is logged and ignored (an observer must
 * not break the answer). A returned promise is awaited before the delta is passed on, which also
 * holds back the upstream read: a slow onChunk slows the stream instead of growing a queue.
 */
export function safeOnChunk(
  onChunk: ((chunk: string) => void | Promise<void>) | undefined,
  logger: Logger,
): (text: string) => void | Promise<void> {
  if (!onChunk) return () => {}
  const warn = (error: unknown) => logger.warn('onChunk failed (ignored):', error)
  return (text) => {
    try {
      const result = onChunk(text)
      if (result && typeof (result as Promise<void>).then === 'function') {
        return (result as Promise<void>).then(undefined, warn)
      }
    } catch (error) {
      warn(error)
    }
  }
}
