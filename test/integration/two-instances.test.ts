import { type ChildProcess, fork, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { EmulatorServer } from '../../src/testing'
import { createWorkersAIEmulator } from '../../src/testing'
import { freePort, type RedisServer, startRedisServer, waitForPort } from '../helpers/redis-server'
import { contentOf, readThenCut } from './stream-helpers'

// Two processes of the built package behind haproxy (round-robin), sharing one redis-server; the
// emulator is the upstream (a second, slow one for streams caught mid-answer). Everything listens on
// 127.0.0.1 and is ended by its PID.

const root = join(dirname(fileURLToPath(import.meta.url)), '../..')
const HAPROXY = '/usr/sbin/haproxy'
const RATE_LIMIT = 5
/** The instances' stream lease: a dead instance's readers learn it within about this. */
const LEASE_MS = 1_000
const TOKENS = 40
/** What the slow emulator answers: TOKENS tokens, one every 25 ms (about a second). */
const SLOW_TEXT = Array.from({ length: TOKENS }, (_, i) => `tok${i} `).join('')

interface Instance {
  name: string
  child: ChildProcess
  port: number
  /** Everything it wrote to stderr (the store's outage and recovery lines). */
  stderr: () => string
}

const emulator = createWorkersAIEmulator({
  reply: ({ messages }) => `Answer to ${JSON.stringify(messages.at(-1))}`,
})
const slowEmulator = createWorkersAIEmulator({ tokens: TOKENS, tokenDelayMs: 25 })
let upstream: EmulatorServer
let slowUpstream: EmulatorServer
let redis: RedisServer
let instances: Instance[] = []
let haproxy: ChildProcess | undefined
let haproxyDir: string
let origin: string

function startInstance(name: string): Promise<Instance> {
  const child = fork(join(root, 'test/integration/servers/redis-instance.mjs'), {
    cwd: root,
    env: {
      ...process.env,
      INSTANCE: name,
      REDIS_URL: redis.url,
      BASE_URL: upstream.baseURL,
      SLOW_BASE_URL: slowUpstream.baseURL,
      LEASE_MS: String(LEASE_MS),
      RATE_LIMIT: String(RATE_LIMIT),
      RETRY_MS: '100',
    },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk)
  })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`instance ${name} exited (${code}): ${stderr}`)))
    child.once('message', (message) => {
      resolve({ name, child, port: (message as { port: number }).port, stderr: () => stderr })
    })
  })
}

async function startHaproxy(ports: number[]): Promise<string> {
  const port = await freePort()
  haproxyDir = mkdtempSync(join(tmpdir(), 'copilotedge-haproxy-'))
  const config = join(haproxyDir, 'haproxy.cfg')
  writeFileSync(
    config,
    [
      'defaults',
      '  mode http',
      '  timeout connect 5s',
      // A request sent to a dead instance (killed by a test) goes to the other one.
      '  retries 2',
      '  option redispatch',
      // Long enough never to cut a stream (the handler's own heartbeats keep one alive anyway).
      '  timeout client 10m',
      '  timeout server 10m',
      'frontend front',
      `  bind 127.0.0.1:${port}`,
      '  default_backend instances',
      'backend instances',
      '  balance roundrobin',
      ...ports.map((p, i) => `  server instance${i} 127.0.0.1:${p}`),
      '',
    ].join('\n'),
  )
  // -db: stay in the foreground, so the PID we hold is haproxy itself.
  haproxy = spawn(HAPROXY, ['-db', '-f', config], { stdio: 'ignore' })
  await waitForPort(port)
  return `http://127.0.0.1:${port}`
}

function ask(question: string, headers: Record<string, string> = {}, stream = false) {
  return fetch(`${origin}/api/copilot`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ messages: [{ role: 'user', content: question }], stream }),
  })
}

/** Upstream calls the emulator received for this question. */
function upstreamCalls(question: string, from = emulator): number {
  return from.requests.filter((r) => JSON.stringify(r.body).includes(question)).length
}

/** A streaming question to one of the slow routes (`/api/slow`, `/api/resumable`). */
function askSlow(path: string, question: string, signal?: AbortSignal) {
  return fetch(`${origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: question }], stream: true }),
    ...(signal ? { signal } : {}),
  })
}

/** Resumes a stream through the balancer, asking until the answer comes from another instance. */
async function resumeElsewhere(streamId: string, lastEventId: number, not: string) {
  for (let attempt = 0; attempt < 4; attempt++) {
    const response = await fetch(`${origin}/api/resumable?stream=${streamId}`, {
      headers: { 'Last-Event-ID': String(lastEventId) },
    })
    if (response.headers.get('x-instance') !== not) return response
    await response.body?.cancel()
  }
  throw new Error(`every resume landed on instance ${not}`)
}

async function answer(response: Response) {
  const body = await response.text()
  return {
    status: response.status,
    cache: response.headers.get('x-cache'),
    instance: response.headers.get('x-instance'),
    body,
  }
}

beforeAll(async () => {
  if (!existsSync(join(root, 'dist/server/index.js'))) throw new Error('run `npm run build` first')
  upstream = await emulator.listen()
  slowUpstream = await slowEmulator.listen()
  redis = await startRedisServer()
  instances = await Promise.all([startInstance('a'), startInstance('b')])
  origin = await startHaproxy(instances.map((i) => i.port))
})

afterAll(async () => {
  if (haproxy?.pid) haproxy.kill('SIGKILL')
  for (const instance of instances) if (instance.child.connected) instance.child.disconnect()
  await Promise.all(
    instances.map(
      (i) =>
        new Promise((resolve) =>
          // A child killed by a signal has exitCode null but signalCode set: it has already exited.
          i.child.exitCode === null && i.child.signalCode === null
            ? i.child.once('exit', resolve)
            : resolve(0),
        ),
    ),
  )
  await redis?.stop()
  await upstream?.close()
  await slowUpstream?.close()
  if (haproxyDir) rmSync(haproxyDir, { recursive: true, force: true })
})

describe('two instances behind a round-robin balancer, sharing Redis', () => {
  it('answer the same question twice with one upstream call: the second is a HIT from the other instance', async () => {
    const question = 'What is shared? (non-stream)'
    const first = await answer(await ask(question))
    const second = await answer(await ask(question))
    expect([first.status, second.status]).toEqual([200, 200])
    expect(first.cache).toBe('MISS')
    expect(second.cache).toBe('HIT')
    expect(first.instance).not.toBe(second.instance)
    expect(JSON.parse(second.body).choices[0].message.content).toBe(
      JSON.parse(first.body).choices[0].message.content,
    )
    expect(upstreamCalls(question)).toBe(1)
  })

  it('replay a streamed answer from the other instance as SSE, with one upstream call', async () => {
    const question = 'What is shared? (stream)'
    const first = await answer(await ask(question, {}, true))
    const second = await answer(await ask(question, {}, true))
    expect(first.cache).toBe('MISS')
    expect(second.cache).toBe('HIT')
    expect(first.instance).not.toBe(second.instance)
    expect(second.body).toContain('data: [DONE]')
    expect(upstreamCalls(question)).toBe(1)
  })

  it(`hold a limit of ${RATE_LIMIT} requests across both: ${RATE_LIMIT + 3} concurrent requests get exactly 3 429s`, async () => {
    const results = await Promise.all(
      Array.from({ length: RATE_LIMIT + 3 }, (_, i) =>
        ask(`limited ${i}`, { 'x-client': 'one-client' }).then(answer),
      ),
    )
    expect(results.filter((r) => r.status === 200)).toHaveLength(RATE_LIMIT)
    expect(results.filter((r) => r.status === 429)).toHaveLength(3)
    // Both instances took part, so the limit was not one instance's own.
    expect(new Set(results.map((r) => r.instance))).toEqual(new Set(['a', 'b']))
  })

  it('make 20 identical concurrent streams spread over both instances one upstream call, 20 identical texts', async () => {
    const question = 'Asked 20 times at once'
    const results = await Promise.all(
      Array.from({ length: 20 }, () => askSlow('/api/slow', question).then(answer)),
    )
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200))
    expect(new Set(results.map((r) => r.instance))).toEqual(new Set(['a', 'b']))
    expect(results.map((r) => contentOf(r.body))).toEqual(Array(20).fill(SLOW_TEXT))
    expect(results.every((r) => r.body.endsWith('data: [DONE]\n\n'))).toBe(true)
    expect(upstreamCalls(question, slowEmulator)).toBe(1)
  })

  it('resume a cut stream on the other instance through the balancer: nothing lost or repeated', async () => {
    const question = 'Resumed on the other instance'
    const controller = new AbortController()
    const first = await askSlow('/api/resumable', question, controller.signal)
    const streamId = first.headers.get('x-copilotedge-stream-id') as string
    const leader = first.headers.get('x-instance') as string
    const { received, lastEventId } = await readThenCut(first, controller, 5)
    const resumed = await resumeElsewhere(streamId, lastEventId, leader)
    expect(resumed.status).toBe(200)
    const rest = await resumed.text()
    expect(contentOf(received) + contentOf(rest)).toBe(SLOW_TEXT)
    expect(rest.endsWith('data: [DONE]\n\n')).toBe(true)
    expect(upstreamCalls(question, slowEmulator)).toBe(1)
  })

  it('answer every request while redis-server is down, log the outage once, and share again once it is back', async () => {
    // Only what the instances log from here on counts (a slow moment earlier is not this outage).
    const before = instances.map((i) => i.stderr().length)
    const since = (i: number) => instances[i]?.stderr().slice(before[i]) ?? ''
    await redis.kill()
    const during = []
    for (let i = 0; i < 12; i++) {
      // Pairs of unlimited and limited requests (fresh client keys, under the limit), so each
      // instance gets both kinds: every one is answered.
      const headers: Record<string, string> =
        Math.floor(i / 2) % 2 ? { 'x-client': `outage-${i}` } : {}
      during.push(await answer(await ask(`during the outage ${i % 4}`, headers)))
    }
    expect(during.map((r) => r.status)).toEqual(Array(12).fill(200))
    expect(new Set(during.map((r) => r.instance))).toEqual(new Set(['a', 'b']))
    for (let i = 0; i < instances.length; i++) {
      expect(since(i).match(/Redis cache store failed/g), since(i)).toHaveLength(1)
      expect(since(i).match(/Redis rate-limit store failed/g), since(i)).toHaveLength(1)
    }

    await redis.restart()
    // The circuits probe Redis on the next request after retryMs: ask until both instances say so.
    let n = 0
    await vi.waitFor(
      async () => {
        await (await ask(`probe ${n++}`)).text()
        for (let i = 0; i < instances.length; i++) {
          expect(since(i)).toContain('Redis cache store answers again')
        }
      },
      { timeout: 10_000, interval: 50 },
    )

    const question = 'Written after the restart'
    const seen = []
    for (let i = 0; i < 3; i++) seen.push(await answer(await ask(question)))
    expect(seen.map((r) => r.cache)).toEqual(['MISS', 'HIT', 'HIT'])
    // The entry one instance wrote after the restart is read by both.
    expect(new Set(seen.map((r) => r.instance))).toEqual(new Set(['a', 'b']))
    expect(upstreamCalls(question)).toBe(1)
  })
  // Last: one instance is gone afterwards.
  it('end a resumed stream with a clear truncation error when the instance streaming it was killed', async () => {
    const question = 'Its instance dies mid-answer'
    const controller = new AbortController()
    const first = await askSlow('/api/resumable', question, controller.signal)
    const streamId = first.headers.get('x-copilotedge-stream-id') as string
    const leader = instances.find((i) => i.name === first.headers.get('x-instance'))
    const { received, lastEventId } = await readThenCut(first, controller, 5)
    await new Promise((resolve) => {
      leader?.child.once('exit', resolve)
      leader?.child.kill('SIGKILL')
    })
    const resumed = await resumeElsewhere(streamId, lastEventId, leader?.name as string)
    expect(resumed.status).toBe(200)
    const rest = await resumed.text()
    expect(rest).toContain('"code":"stream_truncated"')
    expect(rest).not.toContain('[DONE]')
    // What it did get continues what the client had, without a gap or a repeat.
    expect(SLOW_TEXT.startsWith(contentOf(received) + contentOf(rest))).toBe(true)
  })
})
