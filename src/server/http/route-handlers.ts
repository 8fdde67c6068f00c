import type { CopilotEdgeConfig } from '../config'
import type { CopilotEdgeHandler } from '../copilot-edge'
import { createCopilotEdgeHandler } from './create-handler'

/**
 * One handler under every method name a route file can export. A route exporting only `POST`
 * leaves GET/PUT/… to the framework (Next.js answers a bare 405: no `Allow`, no JSON) and OPTIONS
 * to its default, so CORS preflights never reach the handler's `cors` setting. Bound to the one
 * handler, every method gets what the handler promises (with `resume`, GET reconnects and DELETE
 * stops a stream).
 */
export interface CopilotEdgeRoute {
  GET: CopilotEdgeHandler
  HEAD: CopilotEdgeHandler
  POST: CopilotEdgeHandler
  PUT: CopilotEdgeHandler
  PATCH: CopilotEdgeHandler
  DELETE: CopilotEdgeHandler
  OPTIONS: CopilotEdgeHandler
}

/** `export const { GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS } = createCopilotEdgeRoute(config)` */
export function createCopilotEdgeRoute(config: CopilotEdgeConfig = {}): CopilotEdgeRoute {
  const handler = createCopilotEdgeHandler(config)
  // A HEAD answer has no body, whatever runtime serves it (Next strips it; a direct call would not).
  const head: CopilotEdgeHandler = async (request) => {
    const response = await handler(request)
    await response.body?.cancel().catch(() => {})
    const headers = new Headers(response.headers)
    headers.delete('content-length')
    return new Response(null, { status: response.status, statusText: response.statusText, headers })
  }
  return {
    GET: handler,
    HEAD: head,
    POST: handler,
    PUT: handler,
    PATCH: handler,
    DELETE: handler,
    OPTIONS: handler,
  }
}
