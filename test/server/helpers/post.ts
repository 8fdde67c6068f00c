export const URL_ = 'http://localhost/api/copilot'

/** A POST with a JSON body, as a browser or the openai client sends it. */
export function post(
  body: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Request {
  return new Request(URL_, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(signal ? { signal } : {}),
  })
}

export const hello = { messages: [{ role: 'user' as const, content: 'Hello' }] }

/** Replaces the random id and the clock-dependent created in SSE or JSON text. */
export function normalise(text: string): string {
  return text.replaceAll(/chatcmpl-[0-9a-f]{24}/g, 'ID').replaceAll(/"created":\d+/g, '"created":0')
}
