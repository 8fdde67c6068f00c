// A small server that follows the resume contract (issue 11) and can cut its own responses: a node:http
// server on 127.0.0.1 that answers each POST with a scripted answer as a resumable SSE stream, serves
// `GET ?stream=` with `Last-Event-ID`, and records `DELETE ?stream=` stops. Each response (the POST's,
// then each GET's, in arrival order) follows the next step of a plan: cut the body after N bytes
// (dropping the connection, or ending it cleanly without [DONE]), hang, or answer an error status.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { chunk } from '../sse-helpers'

export interface Step {
  /** Body bytes sent before the cut, taken modulo the body's length (any number cuts somewhere). */
  cutAt?: number
  /** `destroy` drops the TCP connection (a network error); `end` ends the body cleanly. Default destroy. */
  mode?: 'destroy' | 'end'
  /** Send `cutAt` bytes, then keep the connection open until the client leaves. */
  hang?: boolean
  /** Answer a GET with this status and an OpenAI error body instead of the stream. */
  status?: number
}

export interface SeenRequest {
  method: string
  url: string
  streamId: string | undefined
  lastEventId: string | undefined
  headers: IncomingMessage['headers']
  body: string
}

const encoder = new TextEncoder()

/** The events of one answer, as the server sends them: `id: n`, a role chunk, deltas, a finish chunk. */
export function answerEvents(deltas: string[]): string[] {
  const events = [
    {
      ...chunk(''),
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
    },
    ...deltas.map((delta) => chunk(delta)),
    chunk(undefined, 'stop'),
  ]
  return events.map((data, n) => `id: ${n}\ndata: ${JSON.stringify(data)}\n\n`)
}

const DONE = 'data: [DONE]\n\n'

export async function startResumableServer(options: {
  answer: string[]
  plan?: Step[]
  /** Stream ids answered 410 (`stream_expired`). */
  expired?: string[]
}) {
  const requests: SeenRequest[] = []
  const plan = [...(options.plan ?? [])]
  const events = answerEvents(options.answer)
  const streams = new Set<string>()
  const open = new Set<ServerResponse>()
  let next = 0

  const errorJson = (res: ServerResponse, status: number, code: string) => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ error: { message: code, type: 'invalid_request_error', code } }))
  }

  const sendStream = (res: ServerResponse, streamId: string, body: string, step: Step) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-copilotedge-stream-id': streamId,
    })
    const bytes = encoder.encode(body)
    if (step.cutAt === undefined) {
      res.end(bytes)
      return
    }
    const cut = step.cutAt % bytes.length
    open.add(res)
    res.on('close', () => open.delete(res))
    res.write(bytes.subarray(0, cut), () => {
      if (step.hang) return
      if (step.mode === 'end') res.end()
      else res.socket?.destroy()
    })
  }

  const server: Server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (text: string) => {
      body += text
    })
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1')
      const streamId = url.searchParams.get('stream') ?? undefined
      const lastEventId = req.headers['last-event-id']
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        streamId,
        lastEventId: typeof lastEventId === 'string' ? lastEventId : undefined,
        headers: req.headers,
        body,
      })
      if (req.method === 'POST') {
        const id = `s${++next}`
        streams.add(id)
        sendStream(res, id, events.join('') + DONE, plan.shift() ?? {})
        return
      }
      if (streamId === undefined) return errorJson(res, 400, 'missing_stream')
      if (options.expired?.includes(streamId)) return errorJson(res, 410, 'stream_expired')
      if (!streams.has(streamId)) return errorJson(res, 404, 'stream_not_found')
      if (req.method === 'DELETE') {
        res.writeHead(204).end()
        return
      }
      const step = plan.shift() ?? {}
      if (step.status !== undefined) return errorJson(res, step.status, 'unavailable')
      const after = typeof lastEventId === 'string' ? Number(lastEventId) : -1
      sendStream(res, streamId, events.slice(after + 1).join('') + DONE, step)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/api/copilot`,
    requests,
    /** How many requests of this method the server saw. */
    count: (method: string) => requests.filter((request) => request.method === method).length,
    /** Adds steps for the responses still to come. */
    plan: (...steps: Step[]) => plan.push(...steps),
    /** The body the server sends for a fresh POST (the uninterrupted answer). */
    fullBody: events.join('') + DONE,
    close: async () => {
      for (const res of open) res.socket?.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

export type ResumableServer = Awaited<ReturnType<typeof startResumableServer>>
