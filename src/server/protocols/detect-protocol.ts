import type { ProtocolName } from './protocol'

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Which protocol a request speaks: the URL path when it names one (a catch-all route serves
 * `…/chat/completions` and `…/responses`), else the body's shape. Chat Completions is the default,
 * so a body that fits nothing gets Chat Completions' own clear 400.
 */
export function detectProtocol(pathname: string, body: unknown): ProtocolName {
  const path = pathname.endsWith('/') ? pathname.slice(0, -1) : pathname
  if (path.endsWith('/chat/completions')) return 'chat-completions'
  if (path.endsWith('/responses')) return 'responses'
  if (!isObject(body)) return 'chat-completions'
  // AG-UI's RunAgentInput: camelCase ids of a thread and a run.
  if (typeof body.threadId === 'string' && typeof body.runId === 'string') return 'ag-ui'
  // The AI SDK's useChat: UIMessages with `parts`, and a `trigger`.
  if (Array.isArray(body.messages) && typeof body.trigger === 'string') return 'ui-message-stream'
  // The Responses API: `input` instead of `messages`.
  if (body.input !== undefined && body.messages === undefined) return 'responses'
  return 'chat-completions'
}
