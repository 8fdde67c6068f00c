/** Anything console-shaped: `logger: console`, pino, a Workers tail logger. */
export interface Logger {
  debug(...args: unknown[]): void
  warn(...args: unknown[]): void
  error(...args: unknown[]): void
}

const REDACTED = '[redacted]'

function stringify(value: unknown): string {
  if (typeof value === 'string') return value
  if (value instanceof Error) return `${value.name}: ${value.message}`
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/**
 * Wraps `logger` so no line ever carries `secret` (the API key): every argument is turned into a
 * string and the key cut out of it. Debug lines are dropped unless `debug` is on.
 */
export function createLogger(logger: Logger, options: { debug: boolean; secret?: string }): Logger {
  const { secret } = options
  const clean = (args: unknown[]) =>
    args.map((arg) => {
      const text = stringify(arg)
      return secret ? text.replaceAll(secret, REDACTED) : text
    })
  const prefix = '[copilotedge]'
  return {
    debug: options.debug ? (...args) => logger.debug(prefix, ...clean(args)) : () => {},
    warn: (...args) => logger.warn(prefix, ...clean(args)),
    error: (...args) => logger.error(prefix, ...clean(args)),
  }
}
