import { request as httpRequest } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import type { EmulatorServer } from '../../src/testing'
import { createWorkersAIEmulator } from '../../src/testing'
import {
  eventually,
  inProcess,
  LLAMA,
  post,
  readAll,
  runPath,
  TRANSPORTS,
  type Transport,
} from './emulator-helpers'

describe.each(TRANSPORTS)('aborts, %s', (_, open) => {
  let transport: Transport | null = null
  afterEach(async () => {
    await transport?.close()
    transport = null
  })

  it('records a client abort mid-stream, and the body errors with an AbortError', async () => {
    const emu = createWorkersAIEmulator({ tokens: 1000, tokenDelayMs: 5 })
    transport = await open(emu)
    const controller = new AbortController()
    const res = await post(
      transport.target,
      runPath(LLAMA),
      { prompt: 'x', stream: true },
      { signal: controller.signal },
    )
    const reader = res.body!.getReader()
    await reader.read()
    controller.abort()
    await expect(reader.read()).rejects.toMatchObject({ name: 'AbortError' })
    await emu.idle()
    const [record] = emu.requests
    expect(record).toMatchObject({ aborted: true, completed: false, status: 200 })
    expect(record!.tokensSent).toBeLessThan(1000)
  })

  it('records a cancelled body as aborted', async () => {
    const emu = createWorkersAIEmulator({ tokens: 1000, tokenDelayMs: 5 })
    transport = await open(emu)
    const res = await post(transport.target, runPath(LLAMA), { prompt: 'x', stream: true })
    const reader = res.body!.getReader()
    await reader.read()
    await reader.cancel()
    await emu.idle()
    expect(emu.requests[0]).toMatchObject({ aborted: true, completed: false })
  })

  it('records an abort while a non-stream answer is being generated', async () => {
    const emu = createWorkersAIEmulator({ firstTokenDelayMs: 60_000 })
    transport = await open(emu)
    const controller = new AbortController()
    const pending = post(
      transport.target,
      runPath(LLAMA),
      { prompt: 'x' },
      { signal: controller.signal },
    )
    await eventually(() => expect(emu.requests).toHaveLength(1))
    controller.abort()
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
    await emu.idle()
    expect(emu.requests[0]).toMatchObject({ aborted: true, completed: false, status: 0 })
  })

  it('does not record an abort after the reply finished', async () => {
    const emu = createWorkersAIEmulator({ tokens: 3 })
    transport = await open(emu)
    const controller = new AbortController()
    const res = await post(
      transport.target,
      runPath(LLAMA),
      { prompt: 'x', stream: true },
      { signal: controller.signal },
    )
    expect((await readAll(res)).text).toContain('[DONE]')
    controller.abort()
    await emu.idle()
    expect(emu.requests[0]).toMatchObject({ aborted: false, completed: true, tokensSent: 3 })
  })
})

describe('aborts in-process', () => {
  it('rejects at once, recording nothing, when the signal is already aborted', async () => {
    const emu = createWorkersAIEmulator()
    const controller = new AbortController()
    controller.abort()
    const pending = post(
      inProcess(emu),
      runPath(LLAMA),
      { prompt: 'x' },
      { signal: controller.signal },
    )
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
    expect(emu.requests).toEqual([])
  })

  it('rejects with the reason the signal was aborted with', async () => {
    const emu = createWorkersAIEmulator({ tokens: 100, tokenDelayMs: 5 })
    const controller = new AbortController()
    const res = await post(
      inProcess(emu),
      runPath(LLAMA),
      { prompt: 'x', stream: true },
      {
        signal: controller.signal,
      },
    )
    const reason = new Error('caller went away')
    controller.abort(reason)
    await expect(res.text()).rejects.toBe(reason)
  })
})

describe('aborts over real HTTP', () => {
  let server: EmulatorServer | null = null
  afterEach(async () => {
    await server?.close()
    server = null
  })

  it('records a socket the client destroys mid-stream as aborted', async () => {
    const emu = createWorkersAIEmulator({ tokens: 10_000, tokenDelayMs: 2 })
    server = await emu.listen()
    const url = new URL(`${server.baseURL}${runPath(LLAMA)}`)
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(url, {
        method: 'POST',
        headers: { authorization: 'Bearer emulator-token', 'content-type': 'application/json' },
      })
      req.on('error', () => {})
      req.on('response', (res) => {
        res.once('data', () => {
          req.destroy()
          resolve()
        })
      })
      req.on('error', reject)
      req.end(JSON.stringify({ prompt: 'x', stream: true }))
    })
    await emu.idle()
    expect(emu.requests[0]).toMatchObject({ aborted: true, completed: false })
    expect(emu.requests[0]!.tokensSent).toBeLessThan(10_000)
  })

  it('closes open connections on close(), recording them aborted, so nothing hangs', async () => {
    const emu = createWorkersAIEmulator()
    emu.fault({ type: 'stall' })
    server = await emu.listen()
    const pending = fetch(`${server.baseURL}${runPath(LLAMA)}`, {
      method: 'POST',
      headers: { authorization: 'Bearer emulator-token' },
      body: JSON.stringify({ prompt: 'x', stream: true }),
    })
    const rejected = expect(pending).rejects.toThrow(TypeError)
    while (emu.requests.length === 0) await new Promise((r) => setTimeout(r, 5))
    await server.close()
    server = null
    await rejected
    await emu.idle()
    expect(emu.requests[0]).toMatchObject({ aborted: true, status: 0 })
  })

  it('listens on 127.0.0.1 with a free port and a /client/v4 base URL', async () => {
    const emu = createWorkersAIEmulator()
    server = await emu.listen()
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(server.baseURL).toBe(`${server.url}/client/v4`)
  })
})
