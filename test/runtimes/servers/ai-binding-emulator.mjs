// Tests only: a stand-in for the Workers AI binding (`env.AI`), mounted as a Miniflare wrapped
// binding (a module in the Worker's own isolate, like the real `env.AI`). Miniflare's own `ai`
// binding calls Cloudflare's network, which is not reachable here; this one answers `run()` the way
// the binding does (a ReadableStream of the SSE bytes for `stream: true`, the bare result object
// otherwise, `Error("<code>: <message>")` on failure) by calling the emulator's REST route, and it
// honours `options.signal` so a client disconnect reaches the emulator.
export default function aiBinding(env) {
  return {
    async run(model, inputs, options = {}) {
      const res = await fetch(`${env.baseURL}/accounts/${env.accountId}/ai/run/${model}`, {
        method: 'POST',
        // extraHeaders: how x-session-affinity travels on the binding.
        headers: {
          ...options.extraHeaders,
          Authorization: `Bearer ${env.apiToken}`,
          'Content-Type': 'application/json',
        },
        body: JSON.stringify(inputs),
        signal: options.signal,
      })
      if (!res.ok) {
        const body = await res.json().catch(() => ({}))
        const error = body.errors?.[0] ?? {}
        throw new Error(`${error.code ?? res.status}: ${error.message ?? res.statusText}`)
      }
      if (inputs.stream === true && res.headers.get('content-type')?.includes('event-stream')) {
        return res.body
      }
      return (await res.json()).result
    },
  }
}
