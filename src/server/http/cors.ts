export interface CorsConfig {
  /** Origins allowed to read responses, exactly as browsers send them (`https://app.example`), or `'*'`. */
  origins: string[] | '*'
  /** Request headers a page may send. `'*'` allows whatever the preflight asks for. */
  headers?: string[] | '*'
  /** Seconds a browser may cache a preflight answer. Default 600; 0 omits the header. */
  maxAge?: number
  /** Allow cookies and HTTP auth. Needs an explicit `origins` list (refused with `'*'`). */
  credentials?: boolean
  /** Response headers a page may read besides the safelisted ones. Default `Retry-After`, `X-Cache`, `X-CopilotEdge-Stream-Id`. */
  exposeHeaders?: string[]
}

// Last-Event-ID and GET/DELETE: a page resumes (`GET ?stream=`) and stops (`DELETE ?stream=`) its
// streams (config resume), and reads the stream id it needs for that.
const DEFAULT_HEADERS = ['Content-Type', 'Authorization', 'Cache-Control', 'Last-Event-ID']
const DEFAULT_EXPOSE = ['Retry-After', 'X-Cache', 'X-CopilotEdge-Stream-Id']
const METHODS = 'GET, POST, DELETE, OPTIONS'

export interface Cors {
  /** Answers a preflight (`OPTIONS` with `Access-Control-Request-Method`); `null` for any other request. */
  preflight(request: Request): Response | null
  /** The CORS headers for an actual response to `request` (only `Vary` for a disallowed origin). */
  apply(request: Request, response: Response): Response
}

/**
 * CORS for the handler. Off unless configured. CORS only decides which web pages may *read* the
 * answers; it is not access control (any non-browser client ignores it): use `authorize` for that.
 */
export function createCors(config: CorsConfig): Cors {
  const any = config.origins === '*'
  if (!any && !Array.isArray(config.origins)) {
    throw new TypeError("cors.origins must be an array of origins or '*'")
  }
  if (any && config.credentials) {
    // Reflecting every origin with credentials lets any site act as the signed-in user.
    throw new TypeError("cors.credentials needs an explicit cors.origins list, not '*'")
  }
  const allowed = new Set(any ? [] : (config.origins as string[]).map(normaliseOrigin))
  const maxAge = config.maxAge ?? 600
  const expose = (config.exposeHeaders ?? DEFAULT_EXPOSE).join(', ')

  const allowedOrigin = (request: Request): string | null => {
    const origin = request.headers.get('origin')
    if (!origin || origin === 'null') return null
    return any || allowed.has(normaliseOrigin(origin)) ? origin : null
  }

  return {
    preflight(request) {
      if (request.method !== 'OPTIONS' || !request.headers.has('access-control-request-method')) {
        return null
      }
      const headers = new Headers({ Vary: 'Origin' })
      const origin = allowedOrigin(request)
      if (origin) {
        headers.set('Access-Control-Allow-Origin', origin)
        headers.set('Access-Control-Allow-Methods', METHODS)
        const requested = request.headers.get('access-control-request-headers')
        const allowHeaders =
          config.headers === '*' ? requested : (config.headers ?? DEFAULT_HEADERS).join(', ')
        if (allowHeaders) headers.set('Access-Control-Allow-Headers', allowHeaders)
        if (maxAge > 0) headers.set('Access-Control-Max-Age', String(Math.floor(maxAge)))
        if (config.credentials) headers.set('Access-Control-Allow-Credentials', 'true')
      }
      return new Response(null, { status: 204, headers })
    },

    apply(request, response) {
      const origin = allowedOrigin(request)
      const extra: [string, string][] = [['Vary', 'Origin']]
      if (origin) {
        extra.push(['Access-Control-Allow-Origin', origin])
        if (expose) extra.push(['Access-Control-Expose-Headers', expose])
        if (config.credentials) extra.push(['Access-Control-Allow-Credentials', 'true'])
      }
      return withHeaders(response, extra)
    },
  }
}

/** Browsers send origins lower-case with no trailing slash; configs are written by hand. */
function normaliseOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase()
}

/**
 * Sets headers on a response, `Vary` appended rather than replaced. A response whose headers are
 * immutable (one returned by `fetch`) is re-wrapped around the same body, so streams stay streams.
 */
function withHeaders(response: Response, extra: [string, string][]): Response {
  let target = response
  try {
    setAll(target.headers, extra)
  } catch {
    target = new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    })
    setAll(target.headers, extra)
  }
  return target
}

function setAll(headers: Headers, extra: [string, string][]): void {
  for (const [name, value] of extra) {
    if (name === 'Vary') {
      const vary = headers.get('vary')
      if (!vary) headers.set('Vary', value)
      else if (
        !vary.split(',').some((v) => v.trim().toLowerCase() === 'origin' || v.trim() === '*')
      ) {
        headers.set('Vary', `${vary}, ${value}`)
      }
    } else {
      headers.set(name, value)
    }
  }
}
