// Raw node:http requests for the reliability suites: exact bytes, methods and headers that fetch
// would refuse or normalise, and a request body that never ends.
import http from 'node:http'

export interface RawResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

export interface RawRequest {
  method?: string
  headers?: Record<string, string>
  body?: string | Buffer
}

/** One request on a fresh connection; resolves with the whole response. */
export function rawRequest(url: string, init: RawRequest = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const body = init.body === undefined ? undefined : Buffer.from(init.body)
    const req = http.request(
      url,
      {
        method: init.method ?? 'POST',
        agent: false,
        headers: {
          ...(body ? { 'Content-Length': String(body.byteLength) } : {}),
          ...init.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/**
 * A chunked request body that keeps coming (64 KiB every few ms) until the server answers; resolves
 * with the answer and how many bytes had been sent by then. Gives up after `maxBytes`.
 */
export function endlessRequest(
  url: string,
  options: { headers?: Record<string, string>; maxBytes?: number } = {},
): Promise<RawResponse & { bytesSent: number }> {
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024
  return new Promise((resolve, reject) => {
    let sent = 0
    let answered = false
    const chunk = Buffer.alloc(64 * 1024, 'a')
    const req = http.request(url, {
      method: 'POST',
      agent: false,
      headers: { 'Content-Type': 'application/json', ...options.headers },
    })
    req.on('response', (res) => {
      answered = true
      const bytesSent = sent
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        req.destroy()
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          bytesSent,
        })
      })
    })
    req.on('error', (error) => {
      if (!answered) reject(error)
    })
    req.write('{"messages":[{"role":"user","content":"')
    const pump = () => {
      if (answered || req.destroyed) return
      if (sent >= maxBytes) {
        req.destroy(new Error(`no answer after ${sent} bytes`))
        return
      }
      sent += chunk.byteLength
      const more = req.write(chunk)
      if (more) setTimeout(pump, 2)
      else req.once('drain', () => setTimeout(pump, 2))
    }
    pump()
  })
}
