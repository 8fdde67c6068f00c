import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import * as http from 'node:http'
import * as https from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createNodeHttpTransport } from '../../../../src/server/providers/wire/node-http-transport'
import type { UpstreamRequestInit } from '../../../../src/server/providers/wire/upstream-transport'
import { closeLoopbackUpstreams, loopbackUpstream } from '../helpers'

// The node:http transport against real servers on loopback (plain and TLS): what it sends, how it
// reads, and what the upstream sees when it cancels, aborts or when the connection drops.

afterEach(closeLoopbackUpstreams)

/** An upstream answering at `url` (`{origin}/v1/run`). */
async function upstream(...args: Parameters<typeof loopbackUpstream>) {
  const up = await loopbackUpstream(...args)
  return Object.assign(up, { url: `${up.origin}/v1/run` })
}

const transport = createNodeHttpTransport(
  { http, https },
  { follow: (url, init) => fetch(url, init) },
)

function post(body = '{"a":1}', signal = new AbortController().signal): UpstreamRequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal }
}

const text = (chunk: Uint8Array | undefined) => new TextDecoder().decode(chunk)

describe('node:http transport', () => {
  it('sends the method, path, headers and body, and reads status, headers and text', async () => {
    let seen: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string } = {
      headers: {},
      body: '',
    }
    const up = await upstream((req, res) => {
      let body = ''
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString()
      })
      req.on('end', () => {
        seen = { method: req.method, url: req.url, headers: req.headers, body }
        res.writeHead(429, 'Slow Down', [
          ['content-type', 'application/json'],
          ['x-note', 'a'],
          ['x-note', 'b'],
        ])
        res.end('{"error":"é"}')
      })
    })
    const response = await transport(up.url, {
      ...post('{"prompt":"héllo"}'),
      headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
    })
    expect(seen).toMatchObject({
      method: 'POST',
      url: '/v1/run',
      body: '{"prompt":"héllo"}',
      headers: {
        authorization: 'Bearer k',
        'content-type': 'application/json',
        // Bytes, not characters (é is two).
        'content-length': '19',
        accept: '*/*',
        'user-agent': 'node',
        connection: 'keep-alive',
      },
    })
    expect(response).toMatchObject({ ok: false, status: 429, statusText: 'Slow Down' })
    expect(response.headers.get('Content-Type')).toBe('application/json')
    expect(response.headers.get('x-note')).toBe('a, b')
    expect(response.headers.get('retry-after')).toBeNull()
    expect(await response.text()).toBe('{"error":"é"}')
  })

  it('a header named in another case replaces the default instead of being sent twice', async () => {
    let raw: string[] = []
    const up = await upstream((req, res) => {
      raw = req.rawHeaders
      res.end()
    })
    await (await transport(up.url, { ...post(), headers: { 'User-Agent': 'mine/1' } })).text()
    const agents = raw.filter((_, i) => i % 2 === 0 && raw[i]?.toLowerCase() === 'user-agent')
    expect(agents).toEqual(['User-Agent'])
    expect(raw[raw.indexOf('User-Agent') + 1]).toBe('mine/1')
  })

  it('hands out the body as it arrives, then done, and keeps the connection for the next request', async () => {
    const writes: Array<(chunk?: string) => void> = []
    const up = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.flushHeaders()
      writes.push((chunk) => (chunk === undefined ? res.end() : res.write(chunk)))
    })
    const response = await transport(up.url, post())
    const reader = response.body?.getReader()
    const next = reader?.read()
    writes[0]?.('data: a\n\n')
    expect(text((await next)?.value)).toBe('data: a\n\n')
    const after = reader?.read()
    writes[0]?.('data: b\n\n')
    expect(text((await after)?.value)).toBe('data: b\n\n')
    writes[0]?.()
    expect(await reader?.read()).toEqual({ done: true, value: undefined })
    expect(await reader?.read()).toEqual({ done: true, value: undefined })

    const again = await transport(up.url, post())
    writes[1]?.('data: c\n\n')
    writes[1]?.()
    expect(await again.text()).toBe('data: c\n\n')
    expect(up.connections).toBe(1)
  })

  it('keeps every connection of a burst for the next one, past node:http agents’ 256', async () => {
    const up = await upstream((_req, res) => setTimeout(() => res.end('ok'), 20))
    const burst = () =>
      Promise.all(Array.from({ length: 300 }, async () => (await transport(up.url, post())).text()))
    await burst()
    await burst()
    expect(up.connections).toBe(300)
  })

  it('a redirected request is asked again through fetch, which follows it', async () => {
    const seen: string[] = []
    const up = await upstream((req, res) => {
      let body = ''
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString()
      })
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${body}`)
        if (req.url === '/v1/run') res.writeHead(308, { location: '/v2/run' }).end()
        else res.end('moved')
      })
    })
    const response = await transport(up.url, post('{"q":1}'))
    expect(await response.text()).toBe('moved')
    expect(seen).toEqual(['POST /v1/run {"q":1}', 'POST /v1/run {"q":1}', 'POST /v2/run {"q":1}'])
  })

  it('cancel ends a pending read with done and closes the connection', async () => {
    const up = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.flushHeaders()
    })
    const reader = (await transport(up.url, post())).body?.getReader()
    const pending = reader?.read()
    await reader?.cancel()
    expect(await pending).toEqual({ done: true, value: undefined })
    await up.closedEarly
  })

  it('an abort before the answer rejects with the signal reason and closes the connection', async () => {
    const up = await upstream(() => {})
    const controller = new AbortController()
    const answer = transport(up.url, post('{}', controller.signal))
    const reason = new Error('stop')
    setTimeout(() => controller.abort(reason), 20)
    await expect(answer).rejects.toBe(reason)
    await up.closedEarly
  })

  it('an already aborted signal sends nothing', async () => {
    let requests = 0
    const up = await upstream(() => requests++)
    const controller = new AbortController()
    controller.abort(new Error('gone'))
    await expect(transport(up.url, post('{}', controller.signal))).rejects.toThrow('gone')
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(requests).toBe(0)
  })

  it('an abort mid-body fails the pending read and closes the connection', async () => {
    const up = await upstream((_req, res) => {
      res.writeHead(200)
      res.write('data: a\n\n')
    })
    const controller = new AbortController()
    const reader = (await transport(up.url, post('{}', controller.signal))).body?.getReader()
    expect(text((await reader?.read())?.value)).toBe('data: a\n\n')
    const pending = reader?.read()
    controller.abort()
    await expect(pending).rejects.toThrow()
    await up.closedEarly
  })

  it('a connection dropped mid-body fails the read after the bytes already sent', async () => {
    const up = await upstream((_req, res) => {
      res.writeHead(200)
      res.write('data: a\n\n', () => setTimeout(() => res.socket?.destroy(), 10))
    })
    const reader = (await transport(up.url, post())).body?.getReader()
    expect(text((await reader?.read())?.value)).toBe('data: a\n\n')
    await expect(reader?.read()).rejects.toThrow()
  })

  it('a refused connection rejects with the connect error', async () => {
    const up = await upstream(() => {})
    await up.close()
    await expect(transport(up.url, post())).rejects.toThrow(/^connect ECONNREFUSED 127\.0\.0\.1:/)
  })

  it('a reader that does not read holds the upstream back', async () => {
    let written = 0
    let heldBack!: (bytes: number) => void
    const held = new Promise<number>((resolve) => {
      heldBack = resolve
    })
    const up = await upstream((_req, res) => {
      res.writeHead(200)
      const chunk = Buffer.alloc(64 * 1024, 'x')
      const write = () => {
        while (written < 256 * 1024 * 1024) {
          written += chunk.length
          if (!res.write(chunk)) {
            // Past the socket buffers: nothing drains while the reader is idle.
            setTimeout(() => heldBack(written), 100)
            return
          }
        }
        heldBack(written)
      }
      write()
    })
    const reader = (await transport(up.url, post())).body?.getReader()
    const bytes = await held
    expect(bytes).toBeLessThan(64 * 1024 * 1024)
    expect(written).toBe(bytes)
    expect((await reader?.read())?.done).toBe(false)
    await reader?.cancel()
  })

  it('a 204 answer has no body', async () => {
    const up = await upstream((_req, res) => {
      res.writeHead(204)
      res.end()
    })
    const response = await transport(up.url, post())
    expect(response).toMatchObject({ ok: true, status: 204, body: null })
    expect(await response.text()).toBe('')
  })
})

describe('node:http transport over TLS', () => {
  let dir = ''
  let tls: { key: string; cert: string }
  beforeAll(() => {
    // A certificate for localhost, made here (openssl from Debian): nothing is downloaded.
    dir = mkdtempSync(join(tmpdir(), 'copilotedge-tls-'))
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    )
    tls = {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    }
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('streams over https with the server name checked, on one kept-alive connection', async () => {
    const up = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end('data: [DONE]\n\n')
    }, tls)
    const trusting = createNodeHttpTransport(
      { http, https },
      { follow: (url, init) => fetch(url, init), agent: { ca: tls.cert } },
    )
    expect(await (await trusting(up.url, post())).text()).toBe('data: [DONE]\n\n')
    expect(await (await trusting(up.url, post())).text()).toBe('data: [DONE]\n\n')
    expect(up.connections).toBe(1)
    // The same server is refused by name (127.0.0.1 is not in the certificate) and by trust.
    await expect(trusting(up.url.replace('localhost', '127.0.0.1'), post())).rejects.toThrow(
      /altnames/,
    )
    await expect(transport(up.url, post())).rejects.toThrow(/self[- ]signed/)
  })
})
