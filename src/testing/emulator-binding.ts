// The Workers AI binding (`env.AI`) answered by the emulator, for code written against the binding:
// `run()` becomes the REST call the binding makes (wire-formats §2), in-process.
import type { EmulatorBinding } from './emulator-types'

interface BindingTarget {
  fetch: (request: Request) => Promise<Response>
  baseURL: string
  accountId: string
  apiToken: string
}

/**
 * As the binding answers: a `ReadableStream` of the SSE bytes for a stream, the bare `result` (no
 * v4 envelope) otherwise, `Error("<code>: <message>")` (InferenceUpstreamError's message) on
 * failure. `extraHeaders` go on the request (that is how `x-session-affinity` travels); a
 * `gateway` sends it by the AI Gateway route.
 */
export function emulatorBinding(target: BindingTarget): EmulatorBinding {
  return {
    async run(model, inputs, options = {}) {
      const origin = new URL(target.baseURL).origin
      const url = options.gateway?.id
        ? `${origin}/v1/${target.accountId}/${options.gateway.id}/workers-ai/run/${model}`
        : `${target.baseURL}/accounts/${target.accountId}/ai/run/${model}`
      const response = await target.fetch(
        new Request(url, {
          method: 'POST',
          headers: {
            ...options.extraHeaders,
            authorization: `Bearer ${target.apiToken}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify(inputs),
          signal: options.signal,
        }),
      )
      if (!response.ok) {
        const body = (await response.json().catch(() => ({}))) as {
          errors?: Array<{ code?: number; message?: string }>
        }
        const error = body.errors?.[0] ?? {}
        throw new Error(`${error.code ?? response.status}: ${error.message ?? response.statusText}`)
      }
      if (
        inputs.stream === true &&
        response.headers.get('content-type')?.includes('event-stream')
      ) {
        return response.body
      }
      return ((await response.json()) as { result?: unknown }).result
    },
  }
}
