import { type ChildProcess, spawn } from 'node:child_process'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createWorkersAIEmulator, type WorkersAIEmulator } from 'copilotedge/testing'

export const root = fileURLToPath(new URL('../..', import.meta.url))
export const serversDir = join(root, 'test', 'runtimes', 'servers')
export const bin = (name: string) => join(root, 'node_modules', '.bin', name)

export interface RuntimeServer {
  /** `http://127.0.0.1:PORT` */
  origin: string
  /** What the child printed on stderr so far (for failure messages). */
  stderr: () => string
  stop(): Promise<void>
}

/**
 * Starts a server script as a child process in its own process group (so stopping it ends
 * everything it started) and resolves once it printed `listening http://127.0.0.1:PORT`.
 */
export function startRuntime(
  command: string,
  args: string[],
  env: Record<string, string>,
  startupMs = 30_000,
): Promise<RuntimeServer> {
  const child: ChildProcess = spawn(command, args, {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORT: '0', NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', ...env },
  })
  let out = ''
  let err = ''
  child.stderr?.on('data', (chunk) => {
    err += chunk
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGTERM')
      } catch {}
      const killTimer = setTimeout(() => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
        } catch {}
      }, 3000)
      await exited
      clearTimeout(killTimer)
    }
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop()
      reject(new Error(`${command} did not start in ${startupMs} ms:\n${out}\n${err}`))
    }, startupMs)
    child.stdout?.on('data', (chunk) => {
      out += chunk
      const match = /listening (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (match?.[1]) {
        clearTimeout(timer)
        resolve({ origin: match[1], stderr: () => err, stop })
      }
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${command} exited (${code ?? signal}) before listening:\n${out}\n${err}`))
    })
  })
}

export const chatBody = (content: string) =>
  JSON.stringify({ messages: [{ role: 'user', content }], stream: true })

export interface StreamedAnswer {
  status: number
  contentType: string | null
  /** The concatenated `delta.content` of every chunk. */
  text: string
  /** Every `data:` payload, in order (the last is `[DONE]` for a complete stream). */
  data: string[]
  /** How many `: ping` comments arrived. */
  pings: number
  /** The connection broke before the body ended cleanly. */
  cut: boolean
}

/** POSTs a streaming chat request and reads the whole SSE answer. */
export async function streamChat(url: string, content: string): Promise<StreamedAnswer> {
  const { status, contentType, raw, cut } = await streamChatRaw(url, content)
  return { status, contentType, cut, ...parseSSE(raw) }
}

export function parseSSE(raw: string): Omit<StreamedAnswer, 'status' | 'contentType' | 'cut'> {
  const data: string[] = []
  let text = ''
  let pings = 0
  for (const line of raw.split('\n')) {
    if (line.startsWith(': ping')) pings++
    if (!line.startsWith('data: ')) continue
    const payload = line.slice(6)
    data.push(payload)
    if (payload === '[DONE]') continue
    const chunk = JSON.parse(payload) as { choices?: { delta?: { content?: string } }[] }
    text += chunk.choices?.[0]?.delta?.content ?? ''
  }
  return { text, data, pings }
}

/**
 * POSTs a streaming chat request over node:http and reads the raw SSE bytes as they come, without
 * fetch's buffering, so a cut connection still shows what arrived before it.
 */
export function streamChatRaw(
  url: string,
  content: string,
): Promise<{ status: number; contentType: string | null; raw: string; cut: boolean }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'POST', headers: { 'Content-Type': 'application/json' } },
      (res) => {
        let raw = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          raw += chunk
        })
        res.on('error', () => {})
        // `complete` is false when the connection broke before the body's end.
        res.on('close', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers['content-type'] ?? null,
            raw,
            cut: !res.complete,
          }),
        )
      },
    )
    req.on('error', reject)
    req.end(chatBody(content))
  })
}

/**
 * POSTs a streaming chat request and drops the connection: after the first content delta
 * (`when: 'mid-stream'`) or `afterMs` after sending, before any response byte (`'before-first-byte'`).
 * Resolves once the socket is destroyed.
 */
export function disconnect(
  url: string,
  when: { at: 'mid-stream' } | { at: 'before-first-byte'; afterMs: number },
): Promise<{ sawContent: boolean; sawResponse: boolean }> {
  return new Promise((resolve, reject) => {
    let sawResponse = false
    const req = httpRequest(
      url,
      { method: 'POST', headers: { 'Content-Type': 'application/json' } },
      (res) => {
        sawResponse = true
        res.setEncoding('utf8')
        let raw = ''
        res.on('data', (chunk: string) => {
          raw += chunk
          if (when.at === 'mid-stream' && raw.includes('"content":"tok')) {
            req.destroy()
            resolve({ sawContent: true, sawResponse })
          }
        })
        res.on('error', () => {})
        res.on('end', () => resolve({ sawContent: false, sawResponse }))
      },
    )
    req.on('error', (error) => {
      if (!req.destroyed) reject(error)
    })
    req.end(chatBody('disconnect test'))
    if (when.at === 'before-first-byte') {
      setTimeout(() => {
        req.destroy()
        resolve({ sawContent: false, sawResponse })
      }, when.afterMs)
    }
  })
}

/** Resolves with `check()` once it is true, or false after `ms`. */
export async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (check()) return true
    await new Promise((r) => setTimeout(r, 25))
  }
  return check()
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export const REPLY = 'Hello from the Workers AI emulator: every runtime streams this sentence.'
// The disconnect test's reply: 400 tokens, 10 ms apart (4 s), far longer than a disconnect takes.
const LONG = Array.from({ length: 400 }, (_, i) => `tok${i} `).join('')

/** One emulator for both tests: the message `disconnect test` gets the long reply. */
export function runtimeEmulator(): WorkersAIEmulator {
  return createWorkersAIEmulator({
    tokenDelayMs: 10,
    reply: ({ messages }) => (JSON.stringify(messages).includes('disconnect test') ? LONG : REPLY),
  })
}
