import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const REDIS_SERVER = '/usr/bin/redis-server'

/** A free TCP port on 127.0.0.1 (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/** Resolves once something accepts TCP connections on the port (polled, bounded). */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (open) return
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

export interface RedisServer {
  port: number
  url: string
  /** Kills this redis-server by its PID (SIGKILL: an outage, not a shutdown) and waits for exit. */
  kill(): Promise<void>
  /** Starts a fresh redis-server on the same port (empty: nothing is persisted). */
  restart(): Promise<void>
  /** SIGSTOP by PID: connections stay open but nothing answers (a hung Redis). */
  pause(): void
  /** SIGCONT: answers again. */
  resume(): void
  /** Kills it and removes its temp dir. */
  stop(): Promise<void>
}

/**
 * Debian's redis-server on 127.0.0.1 and a free port, in its own temp dir, with no persistence.
 * Ended by its PID, never by name.
 */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'copilotedge-redis-'))
  let child: ChildProcess | null = null

  const start = async () => {
    const process = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    )
    child = process
    await waitForPort(port)
  }
  const kill = async () => {
    const process = child
    child = null
    if (!process || process.exitCode !== null || process.signalCode !== null) return
    await new Promise<void>((resolve) => {
      process.once('exit', () => resolve())
      process.kill('SIGKILL')
    })
  }

  await start()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    restart: start,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    stop: async () => {
      await kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
