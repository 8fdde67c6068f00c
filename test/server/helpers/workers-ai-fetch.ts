/**
 * A minimal stand-in for api.cloudflare.com's `/ai/run/{model}` (native SSE frames with `p`
 * padding, then the usage frame and [DONE]), for tests that must run the user's code verbatim
 * (no `baseURL`, no `fetch` option) through the real Workers AI provider.
 */
export function workersAIFetch(
  reply: (model: string) => string[] | { status: number; code: number; message: string },
) {
  const calls: Array<{ url: string; authorization: string | null; body: Record<string, unknown> }> =
    []
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = String(input instanceof Request ? input.url : input)
    const body = JSON.parse(String(init?.body ?? '{}'))
    calls.push({ url, authorization: new Headers(init?.headers).get('authorization'), body })
    const model = decodeURIComponent(url.split('/ai/run/')[1] ?? '')
    const answer = reply(model)
    if (!Array.isArray(answer)) {
      return Response.json(
        {
          success: false,
          errors: [{ code: answer.code, message: answer.message }],
          messages: [],
          result: null,
        },
        { status: answer.status },
      )
    }
    const frames = answer.map((t) => `data: ${JSON.stringify({ response: t, p: 'abcdef' })}\n\n`)
    frames.push(
      `data: ${JSON.stringify({ response: '', usage: { prompt_tokens: 4, completion_tokens: answer.length, total_tokens: 4 + answer.length } })}\n\n`,
    )
    frames.push('data: [DONE]\n\n')
    return new Response(frames.join(''), { headers: { 'Content-Type': 'text/event-stream' } })
  }
  return { fetch, calls }
}
