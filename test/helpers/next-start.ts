import { spawn } from 'node:child_process'
import { setTimeout as delay } from 'node:timers/promises'
import { freePort } from './free-port'

export interface NextApp {
  url: string
  /** The app server's recent stdout and stderr. */
  output: string[]
  /** Ends `next start` and every process it forked (its process group). */
  stop(): Promise<void>
}

/**
 * `next start` of a built app on 127.0.0.1, in a process group of its own (`detached`), answering
 * its first page before this returns. `next start` takes no port 0, hence a port found free here.
 */
export async function startNext(options: {
  appDir: string
  nextBin: string
  /** The app's environment; a function when it needs the app's own URL. */
  env: Record<string, string> | ((url: string) => Record<string, string>)
}): Promise<NextApp> {
  const { appDir, nextBin, env } = options
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const child = spawn(nextBin, ['start', '--port', String(port), '--hostname', '127.0.0.1'], {
    cwd: appDir,
    env: {
      ...process.env,
      NEXT_TELEMETRY_DISABLED: '1',
      ...(typeof env === 'function' ? env(url) : env),
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output: string[] = []
  const keep = (data: Buffer) => {
    output.push(data.toString())
    if (output.length > 200) output.shift()
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const pgid = child.pid
  if (pgid === undefined) throw new Error('next did not start')
  const signalGroup = (signal: NodeJS.Signals | 0) => {
    try {
      process.kill(-pgid, signal)
      return true
    } catch {
      return false
    }
  }
  const stop = async () => {
    signalGroup('SIGTERM')
    for (let i = 0; i < 50 && signalGroup(0); i++) await delay(100)
    signalGroup('SIGKILL')
  }

  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`next start exited with ${child.exitCode}:\n${output.join('')}`)
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) })
      await response.body?.cancel()
      if (response.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`next start did not answer within 30 s:\n${output.join('')}`)
    }
    await delay(100)
  }
  return { url, output, stop }
}
